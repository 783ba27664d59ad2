"""A known day of desk activity, booked through the real ledger, hedger and audit store.

Two counterparties on 2026-01-05 and 2026-01-06 (UTC): ACME trades BTC/USDT twice (0.1 and 0.2,
a sum a float gets wrong), has three RFQs rejected and one order rejected; BETA buys ETH (one
fill of 1e-18), sells BTC at 7500.249999999999999999 (just under the large-trade threshold
7500.25 that its ETH trade meets exactly). ACME's first two trades are hedged in one batch with
two exchange fills. One ACME RFQ falls before the window, one trade on its excluded end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from desk.audit.body import canonical_body
from desk.audit.record import AuditRecord
from desk.audit.store import append_now
from desk.domain.fills import FillEvent, FillSource
from desk.domain.side import Side
from desk.ledger.database import make_engine
from desk.ledger.hedge_store import BatchResult, HedgeOrderRecord, HedgeStore
from desk.ledger.repository import Ledger
from tests.ledger.factories import booking, rejection

WINDOW = {"from": datetime(2026, 1, 5, tzinfo=UTC), "to": datetime(2026, 2, 1, tzinfo=UTC)}


def at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """An instant in January 2026, UTC."""
    return datetime(2026, 1, day, hour, minute, second, micro, tzinfo=UTC)


# The pricing inputs of ACME's first quote, as the gateway puts them in the Quote's audit body.
PRICING = {
    "composite_mid": "60000.1",
    "margin_bps": "2.5",
    "tier": "T1",
    "venues_excluded": {"okx": "STALE"},
    "venues_used": ["binance", "kraken"],
}
PRICING_JSON = canonical_body(PRICING)
BATCH_ALGO = "TWAP"
HEDGE_ORDER_ID = "c0ffee-1-1"


def _rfq(moment: datetime, counterparty: str, quote_req_id: str) -> AuditRecord:
    body = canonical_body({"QuoteReqID": quote_req_id, "Symbol": "BTC/USDT"})
    return AuditRecord(moment, "fix.in", "R", body, counterparty, quote_req_id=quote_req_id)


def _quote(
    moment: datetime, counterparty: str, quote_req_id: str, quote_id: str, pricing: Any = None
) -> AuditRecord:
    fields: dict[str, Any] = {"QuoteID": quote_id, "OfferPx": "60000.5"}
    if pricing is not None:
        fields["pricing"] = pricing
    return AuditRecord(
        moment, "fix.out", "S", canonical_body(fields), counterparty, quote_req_id, quote_id
    )


def _reject(moment: datetime, counterparty: str, quote_req_id: str, reason: str) -> AuditRecord:
    body = canonical_body({"QuoteReqID": quote_req_id, "Text": f"{reason}: no"})
    return AuditRecord(
        moment, "fix.out", "AG", body, counterparty, quote_req_id=quote_req_id, reason=reason
    )


AUDIT = (
    _rfq(at(4, 23, 59, 59, 999999), "ACME", "R-A0"),  # before the window
    _rfq(at(5, 11, 59, 58, 1), "ACME", "R-A1"),
    _quote(at(5, 11, 59, 58, 500000), "ACME", "R-A1", "Q-A1", PRICING),
    _rfq(at(5, 13), "ACME", "R-A2"),
    _quote(at(5, 13, 0, 0, 200000), "ACME", "R-A2", "Q-A2"),
    _rfq(at(5, 14), "ACME", "R-A3"),
    _reject(at(5, 14, 0, 0, 100000), "ACME", "R-A3", "NO_MARKET"),
    _rfq(at(5, 15), "ACME", "R-A4"),
    _quote(at(5, 15, 0, 0, 100000), "ACME", "R-A4", "Q-A4"),
    _rfq(at(5, 16), "ACME", "R-A5"),
    _reject(at(5, 16, 0, 0, 100000), "ACME", "R-A5", "SIZE_ABOVE_MAX"),
    _rfq(at(5, 17), "ACME", "R-A6"),
    _reject(at(5, 17, 0, 0, 100000), "ACME", "R-A6", "NO_MARKET"),
    _rfq(at(5, 23, 59, 59, 999999), "BETA", "R-B1"),
    _quote(at(6, 0), "BETA", "R-B1", "Q-B1"),
    _rfq(at(6, 9, 59, 59), "BETA", "R-B2"),
    _quote(at(6, 9, 59, 59, 500000), "BETA", "R-B2", "Q-B2"),
    _rfq(at(6, 10, 30), "BETA", "R-B3"),
    _quote(at(6, 10, 30, 0, 100000), "BETA", "R-B3", "Q-B3"),
    _rfq(at(6, 10, 59), "BETA", "R-B4"),
    _quote(at(6, 10, 59, 0, 100000), "BETA", "R-B4", "Q-B4"),
)


def _trade(n: int, **terms: Any) -> Any:
    """Trade ``n``: ids derived from its number, USDT quoted, terms as given."""
    return booking(
        order_id=f"1-O{n}", exec_id=f"1-E{n}", currency="USDT", client_transact_time=None, **terms
    )


TRADES = (
    _trade(
        1, counterparty="ACME", account="ACME-1", cl_ord_id="A-1", quote_req_id="R-A1",
        quote_id="Q-A1", symbol="BTC/USDT", side=Side.BUY, qty=Decimal("0.1"),
        price=Decimal("60000.5"), notional=Decimal("6000.05"), executed_at=at(5, 12, 0, 0, 123456),
        settl_date=date(2026, 1, 7),
    ),
    _trade(
        2, counterparty="ACME", account="ACME-1", cl_ord_id="A-2", quote_req_id="R-A2",
        quote_id="Q-A2", symbol="BTC/USDT", side=Side.SELL, qty=Decimal("0.2"),
        price=Decimal("59999.75"), notional=Decimal("11999.95"), executed_at=at(5, 13, 0, 1),
        settl_date=date(2026, 1, 7),
    ),
    _trade(
        3, counterparty="BETA", account=None, cl_ord_id="B-1", quote_req_id="R-B1",
        quote_id="Q-B1", symbol="ETH/USDT", side=Side.BUY, qty=Decimal("2.5"),
        price=Decimal("3000.1"), notional=Decimal("7500.25"), executed_at=at(6, 0, 0, 0, 500000),
        settl_date=date(2026, 1, 8),
    ),
    _trade(
        4, counterparty="BETA", account=None, cl_ord_id="B-2", quote_req_id="R-B2",
        quote_id="Q-B2", symbol="ETH/USDT", side=Side.BUY, qty=Decimal("0.000000000000000001"),
        price=Decimal("3000"), notional=Decimal("0.000000000000003"), executed_at=at(6, 10),
        settl_date=date(2026, 1, 8),
    ),
    _trade(
        5, counterparty="BETA", account=None, cl_ord_id="B-3", quote_req_id="R-B4",
        quote_id="Q-B4", symbol="BTC/USDT", side=Side.SELL, qty=Decimal("1"),
        price=Decimal("7500.249999999999999999"), notional=Decimal("7500.249999999999999999"),
        executed_at=at(6, 11), settl_date=date(2026, 1, 8),
    ),
    _trade(  # on the window's end, which is excluded
        6, counterparty="ACME", account="ACME-1", cl_ord_id="A-5", quote_req_id="R-A5X",
        quote_id="Q-A5X", symbol="BTC/USDT", side=Side.BUY, qty=Decimal("1"),
        price=Decimal("50000"), notional=Decimal("50000"),
        executed_at=datetime(2026, 2, 1, tzinfo=UTC), settl_date=date(2026, 2, 3),
    ),
)  # fmt: skip

REJECTED_ORDER = rejection(
    counterparty="ACME", cl_ord_id="A-4", order_id="1-O7", exec_id="1-E7", quote_id="Q-A4",
    symbol="BTC/USDT", side=Side.BUY, qty=Decimal("0.3"), price=Decimal("60000.5"),
    reject_code="QUOTE_EXPIRED", reject_text="QUOTE_EXPIRED: quote expired",
    received_at=at(5, 15, 1),
)  # fmt: skip


def _exchange_fill(trade_no: int, qty: str, price: str, fee: str, moment: datetime) -> FillEvent:
    return FillEvent(
        booking_key=f"exchange:binance:T{trade_no}",
        source=FillSource.EXCHANGE,
        symbol="BTC/USDT",
        side=Side.SELL,
        qty=Decimal(qty),
        price=Decimal(price),
        fee=Decimal(fee),
        fee_currency="USDT",
        executed_at=moment,
        venue="binance",
        client_order_id=HEDGE_ORDER_ID,
    )


EXCHANGE_FILLS = (
    _exchange_fill(100, "0.06", "60010", "0.0036", at(5, 13, 0, 3)),
    _exchange_fill(101, "0.04", "60009", "0.0024", at(5, 13, 0, 4)),
)
BATCH_OPENED = at(5, 13, 0, 2)
ORDER_SENT = at(5, 13, 0, 2, 500000)
BATCH_DONE = at(5, 13, 0, 5)


def _hedge_acme_trades(store: HedgeStore) -> None:
    """Hedge ACME's trades 1 and 2 (desk net +0.1 BTC) with one SELL order filled twice."""
    batch = store.open_batch(
        "BTC/USDT", BATCH_ALGO, Decimal("60000"), BATCH_OPENED, Decimal("0.001")
    )
    assert batch is not None
    store.record_order(
        HedgeOrderRecord(
            client_order_id=HEDGE_ORDER_ID, batch_id=batch.id, clip_no=1, venue="binance",
            symbol="BTC/USDT", side=Side.SELL, qty=Decimal("0.1"), status="NEW",
            exchange_order_id="X-1", filled_qty=Decimal(0),
        ),
        ORDER_SENT,
    )  # fmt: skip
    for fill in EXCHANGE_FILLS:
        store.book_fill_event(fill, fill.executed_at)
    store.update_order(
        HEDGE_ORDER_ID, status="FILLED", filled_qty=Decimal("0.1"), exchange_order_id="X-1",
        at=BATCH_DONE,
    )  # fmt: skip
    result = BatchResult(
        status="DONE", filled_qty=Decimal("0.1"), avg_price=Decimal("60009.6"),
        fees_quote=Decimal("0.006"), slippage_bps=Decimal("-1.6"), fee_bps=Decimal("1"),
        error=None,
    )  # fmt: skip
    store.finish_batch(batch.id, result, BATCH_DONE)


def seed(url: str) -> None:
    """Book the scenario into the migrated ledger at ``url``."""
    engine = make_engine(url)
    try:
        for record in AUDIT:
            append_now(engine, record)
        ledger = Ledger(engine)
        ledger.book_fill(TRADES[0])
        ledger.book_fill(TRADES[1])
        _hedge_acme_trades(HedgeStore(engine))
        ledger.record_rejection(REJECTED_ORDER)
        for trade in TRADES[2:]:
            ledger.book_fill(trade)
    finally:
        engine.dispose()
