"""Builders for ledger records with sensible defaults; override what a test cares about."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from desk.domain.side import Side
from desk.ledger.records import FillBooking, OrderRejection

T0 = datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC)
_ids = itertools.count(1)


def booking(**overrides: Any) -> FillBooking:
    """A valid FillBooking with unique order/exec ids unless overridden."""
    n = next(_ids)
    base = FillBooking(
        counterparty="ACME",
        account="ACME-1",
        cl_ord_id=f"CL{n}",
        order_id=f"1-O{n}",
        exec_id=f"1-E{n}",
        quote_id=f"1-Q{n}",
        quote_req_id=f"R{n}",
        symbol="BTC/USD",
        side=Side.BUY,
        qty=Decimal("0.00012345"),
        price=Decimal("61234.56"),
        notional=Decimal("7.559406432"),
        currency="USD",
        settl_date=date(2026, 1, 6),
        executed_at=T0,
        client_transact_time=datetime(2026, 1, 5, 12, 0, 0, 100000, tzinfo=UTC),
    )
    return replace(base, **overrides)


def rejection(**overrides: Any) -> OrderRejection:
    """A valid OrderRejection with unique order/exec ids unless overridden."""
    n = next(_ids)
    base = OrderRejection(
        counterparty="ACME",
        account=None,
        cl_ord_id=f"CL{n}",
        order_id=f"1-O{n}",
        exec_id=f"1-E{n}",
        quote_id=f"1-Q{n}",
        symbol="BTC/USD",
        side=Side.SELL,
        qty=Decimal("2"),
        price=Decimal("60000"),
        reject_code="QUOTE_EXPIRED",
        reject_text="quote expired",
        received_at=T0,
    )
    return replace(base, **overrides)


def row_counts(engine: Engine) -> dict[str, int]:
    """How many rows each ledger table holds."""
    with engine.connect() as conn:
        return {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608 - fixed names
            for table in ("orders", "trades", "hedge_intents", "fills")
        }
