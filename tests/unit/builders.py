"""Hand-made books, requests and quotes for unit tests; override what a test cares about."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from desk.config.model import DeskConfig
from desk.domain.messages import OrderRequest, QuoteIssued, RfqRequest
from desk.domain.side import Side
from desk.marketdata.snapshot import Level, MarketSnapshot, VenueBook

# Microseconds on purpose: ValidUntilTime must be truncated to milliseconds.
T0 = datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC)
VENUES = ("sim-a", "sim-b", "sim-c")
_ids = itertools.count(1)


def levels(*pairs: tuple[str, str]) -> tuple[Level, ...]:
    """``("100", "1"), ...`` as Decimal (price, size) levels."""
    return tuple((Decimal(p), Decimal(s)) for p, s in pairs)


def book(
    venue: str = "sim-a",
    *,
    bids: Sequence[tuple[str, str]] = (("99", "1"), ("98", "2")),
    asks: Sequence[tuple[str, str]] = (("101", "1"), ("102", "2")),
    symbol: str = "BTC/USDT",
    changed_mono: float = 1000.0,
) -> VenueBook:
    return VenueBook(
        venue=venue,
        symbol=symbol,
        bids=levels(*bids),
        asks=levels(*asks),
        update_id=next(_ids),
        received_at=T0,
        changed_mono=changed_mono,
    )


# Around 60,000 USDT: 13 BTC a side per venue, so three venues hedge 39 BTC.
BTC_BIDS = (("59999", "1"), ("59998", "2"), ("59990", "10"))
BTC_ASKS = (("60001", "1"), ("60002", "2"), ("60010", "10"))
ETH_BIDS = (("2999.9", "10"), ("2999.5", "100"))
ETH_ASKS = (("3000.1", "10"), ("3000.5", "100"))


def filled_snapshot(now_mono: float, venues: Sequence[str] = VENUES) -> MarketSnapshot:
    """BTC/USDT and ETH/USDT books from ``venues``, all changed at ``now_mono``."""
    snapshot = MarketSnapshot()
    for venue in venues:
        snapshot.update(book(venue, bids=BTC_BIDS, asks=BTC_ASKS), now_mono)
        snapshot.update(book(venue, symbol="ETH/USDT", bids=ETH_BIDS, asks=ETH_ASKS), now_mono)
    return snapshot


def rfq(**overrides: Any) -> RfqRequest:
    """A two-way tradeable RFQ for 1 BTC from CLIENT1 with a fresh QuoteReqID."""
    base = RfqRequest(
        counterparty="CLIENT1",
        quote_req_id=f"R{next(_ids)}",
        symbol="BTC/USDT",
        side=None,
        order_qty=Decimal("1"),
        cash_order_qty=None,
        indicative=False,
        account=None,
        streaming=False,
        received_at=T0,
    )
    return replace(base, **overrides)


def quote(**overrides: Any) -> QuoteIssued:
    """A two-way tradeable quote for 2 BTC to CLIENT1, valid 5 s from T0."""
    n = next(_ids)
    base = QuoteIssued(
        quote_id=f"Q9-{n}",
        quote_req_id=f"R{n}",
        counterparty="CLIENT1",
        account="ACC-1",
        symbol="BTC/USDT",
        currency="USDT",
        side=None,
        qty=Decimal("2"),
        bid_px=Decimal("59900.00"),
        offer_px=Decimal("60100.00"),
        valid_until=T0 + timedelta(seconds=5),
        transact_time=T0,
        indicative=False,
    )
    return replace(base, **overrides)


def order(q: QuoteIssued, **overrides: Any) -> OrderRequest:
    """A valid client BUY of the whole quoted size at its offer, received at T0."""
    base = OrderRequest(
        counterparty=q.counterparty,
        cl_ord_id=f"C{next(_ids)}",
        quote_id=q.quote_id,
        symbol=q.symbol,
        side=Side.BUY,
        qty=q.qty,
        price=q.offer_px,
        ord_type="D",
        time_in_force="4",
        transact_time=T0,
        account=None,
        poss_resend=False,
        received_at=T0,
    )
    return replace(base, **overrides)


def with_instrument(config: DeskConfig, symbol: str, **changes: Any) -> DeskConfig:
    """``config`` with one instrument changed."""
    instruments = dict(config.instruments)
    instruments[symbol] = replace(instruments[symbol], **changes)
    return replace(config, instruments=instruments)


def with_counterparty(config: DeskConfig, comp_id: str, **changes: Any) -> DeskConfig:
    """``config`` with one counterparty changed."""
    counterparties = dict(config.counterparties)
    counterparties[comp_id] = replace(counterparties[comp_id], **changes)
    return replace(config, counterparties=counterparties)
