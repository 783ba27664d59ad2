"""PostgreSQL: the checking triggers keep using their indexes on a long-lived connection
(0008_keyed_lookups). Plans are read with auto_explain, which logs every nested
statement's plan to the client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from desk.domain.side import Side
from desk.ledger.database import make_engine
from desk.ledger.repository import Ledger
from tests.ledger.factories import booking

pytestmark = pytest.mark.postgres

# PL/pgSQL may switch a query to a generic plan after five custom ones.
WARM_UP_BOOKINGS = 12


@pytest.fixture
def explained(pg_url: str) -> Iterator[tuple[Engine, list[str]]]:
    """A one-connection engine that explains every statement, triggers' included."""
    engine = make_engine(pg_url)
    plans: list[str] = []

    @event.listens_for(engine, "connect")
    def _explain(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
        with dbapi_connection.cursor() as cur:
            cur.execute("LOAD 'auto_explain'")
            for setting in (
                "auto_explain.log_min_duration = 0",
                "auto_explain.log_nested_statements = on",
                "client_min_messages = log",
            ):
                cur.execute(f"SET {setting}")
        dbapi_connection.commit()

    yield engine, plans
    engine.dispose()


def test_the_balance_check_finds_postings_by_index_after_many_bookings(
    explained: tuple[Engine, list[str]],
) -> None:
    engine, plans = explained
    ledger = Ledger(engine)
    for n in range(WARM_UP_BOOKINGS):
        ledger.book_fill(booking(side=Side.BUY if n % 2 else Side.SELL))
    plans.clear()

    ledger.book_fill(booking(side=Side.BUY))

    balance_checks = [p for p in plans if "FROM postings" in p and "entry_key" in p]
    chain_reads = [p for p in plans if "FROM audit_log a ORDER BY a.seq DESC" in p]
    assert len(balance_checks) >= 3  # the check ran (for the entry and its postings)
    assert chain_reads
    for plan in balance_checks + chain_reads:
        assert "Seq Scan" not in plan, plan
        assert "Index" in plan, plan
