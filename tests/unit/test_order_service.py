"""desk.execution.order_service against a real (migrated SQLite) ledger.

The standard quote offers CLIENT1 2 BTC at 59900 / 60100, valid until T0 + 5 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from structlog.testing import capture_logs

from desk.clock import FakeClock
from desk.config.model import DeskConfig
from desk.domain.messages import (
    OrderFilled,
    OrderOutcome,
    OrderRejected,
    QuoteIssued,
    StatusRequest,
)
from desk.domain.rejects import OrderRejectCode
from desk.domain.side import Side
from desk.execution.order_service import OrderService
from desk.ledger.database import make_engine
from desk.ledger.records import OrderStatus
from desk.ledger.repository import Ledger
from desk.positions.inventory import Inventory
from desk.quoting.ids import IdFactory
from desk.quoting.quote_book import QuoteBook
from desk.risk.credit import CreditLines
from tests.ledger.factories import row_counts
from tests.unit.builders import T0, order, quote, with_counterparty, with_instrument

US = timedelta(microseconds=1)


@pytest.fixture
def sqlite_ledger(sqlite_url: str) -> Iterator[Ledger]:
    engine = make_engine(sqlite_url)
    try:
        yield Ledger(engine)
    finally:
        engine.dispose()


@dataclass
class Rig:
    service: OrderService
    ledger: Ledger
    quote_book: QuoteBook
    credit: CreditLines

    def issue(self, **overrides: Any) -> QuoteIssued:
        q = quote(**overrides)
        self.quote_book.add(q)
        return q

    def counts(self) -> dict[str, int]:
        return row_counts(self.ledger.engine)


def rig(
    config: DeskConfig,
    ledger: Ledger,
    clock: FakeClock,
    credit_used: dict[str, Decimal] | None = None,
) -> Rig:
    book = QuoteBook()
    credit = CreditLines(credit_used or {}, clock.now())
    ids = IdFactory(ledger.start_boot(clock.now(), "unit-test", 1))
    return Rig(
        OrderService(config, ledger, clock, ids, book, credit, Inventory()), ledger, book, credit
    )


@pytest.fixture
def desk(shipped_config: DeskConfig, sqlite_ledger: Ledger, clock: FakeClock) -> Rig:
    return rig(shipped_config, sqlite_ledger, clock)


def filled(outcome: OrderOutcome) -> OrderFilled:
    assert isinstance(outcome, OrderFilled), outcome
    return outcome


def rejected(outcome: OrderOutcome, code: OrderRejectCode, reason: int) -> OrderRejected:
    assert isinstance(outcome, OrderRejected), outcome
    assert outcome.code is code
    assert outcome.code.fix_reason == reason
    assert outcome.text.startswith(f"{code.name}: ")
    return outcome


def assert_recorded_rejection(desk: Rig, cl_ord_id: str, code: OrderRejectCode) -> None:
    record = desk.ledger.find_order("CLIENT1", cl_ord_id)
    assert record is not None
    assert record.status is OrderStatus.REJECTED
    assert record.reject_code == code.name


# --- fills --------------------------------------------------------------------------------


def test_handle_when_order_matches_quote_then_booked_and_filled(desk: Rig) -> None:
    q = desk.issue()
    request = order(q, cl_ord_id="C-1")

    with capture_logs() as logs:
        fill = filled(desk.service.handle(request))

    assert (fill.cl_ord_id, fill.quote_id, fill.symbol, fill.side) == (
        "C-1",
        q.quote_id,
        "BTC/USDT",
        Side.BUY,
    )
    assert (fill.qty, fill.price, fill.gross_amount) == (
        Decimal(2),
        Decimal(60100),
        Decimal(120200),
    )
    assert (fill.currency, fill.account, fill.settl_date) == ("USDT", "ACC-1", date(2026, 1, 5))
    assert fill.resent is False
    assert fill.exec_id.startswith("E")
    assert desk.counts() == {"orders": 1, "trades": 1, "hedge_intents": 1, "fills": 1}
    assert desk.credit.used("CLIENT1", T0) == Decimal(120200)
    record = desk.ledger.find_order("CLIENT1", "C-1")
    assert record is not None
    assert (record.status, record.trade_id, record.exec_id) == (
        OrderStatus.FILLED,
        fill.trade_id,
        fill.exec_id,
    )
    [booked] = [e for e in logs if e["event"] == "trade.booked"]
    assert (booked["cl_ord_id"], booked["qty"], booked["price"]) == ("C-1", "2", "60100")


def test_handle_when_client_sells_part_of_quote_at_bid_then_filled_at_bid(desk: Rig) -> None:
    q = desk.issue()

    fill = filled(
        desk.service.handle(
            order(q, side=Side.SELL, qty=Decimal("0.5"), price=q.bid_px, time_in_force=None)
        )
    )

    assert (fill.side, fill.qty, fill.price) == (Side.SELL, Decimal("0.5"), Decimal(59900))
    assert fill.gross_amount == Decimal(29950)


def test_handle_when_received_exactly_at_valid_until_then_filled(desk: Rig) -> None:
    q = desk.issue()

    filled(desk.service.handle(order(q, received_at=q.valid_until)))


def test_handle_when_settlement_lag_configured_then_settl_date_later(
    shipped_config: DeskConfig, sqlite_ledger: Ledger, clock: FakeClock
) -> None:
    desk = rig(replace(shipped_config, settlement_lag_days=2), sqlite_ledger, clock)
    q = desk.issue()

    assert filled(desk.service.handle(order(q))).settl_date == date(2026, 1, 7)


def test_handle_when_same_cl_ord_id_from_two_counterparties_then_both_fill(desk: Rig) -> None:
    mine, theirs = desk.issue(), desk.issue(counterparty="CLIENT2")

    filled(desk.service.handle(order(mine, cl_ord_id="SAME")))
    filled(desk.service.handle(order(theirs, cl_ord_id="SAME")))

    assert desk.counts()["trades"] == 2


# --- rejects that never touch the quote -----------------------------------------------------

SIMPLE_REJECTS = [
    pytest.param({"ord_type": "2"}, OrderRejectCode.BAD_ORDTYPE, 99, id="BAD_ORDTYPE"),
    pytest.param({"time_in_force": "3"}, OrderRejectCode.BAD_TIF, 99, id="BAD_TIF-IOC"),
    pytest.param({"time_in_force": "1"}, OrderRejectCode.BAD_TIF, 99, id="BAD_TIF-GTC"),
    pytest.param({"qty": Decimal(0)}, OrderRejectCode.BAD_REQUEST, 99, id="BAD_REQUEST-qty-0"),
    pytest.param({"qty": Decimal(-1)}, OrderRejectCode.BAD_REQUEST, 99, id="BAD_REQUEST-qty-neg"),
    pytest.param(
        {"price": Decimal("60100.123456789012345678901234567890")},
        OrderRejectCode.BAD_REQUEST,
        99,
        id="BAD_REQUEST-price-30-decimals",
    ),
    pytest.param(
        # Equal to the quoted 60100 to 30 places: only the number of decimals is wrong.
        {"price": Decimal("60100.000000000000000000000000000001")},
        OrderRejectCode.BAD_REQUEST,
        99,
        id="BAD_REQUEST-price-30-decimals-near-quoted",
    ),
    pytest.param(
        {"qty": Decimal("1.000000000000000000000000000001")},
        OrderRejectCode.BAD_REQUEST,
        99,
        id="BAD_REQUEST-qty-30-decimals",
    ),
    pytest.param({"symbol": "DOGE/USDT"}, OrderRejectCode.UNKNOWN_SYMBOL, 1, id="UNKNOWN_SYMBOL"),
    pytest.param({"quote_id": "Q9-404"}, OrderRejectCode.QUOTE_UNKNOWN, 5, id="QUOTE_UNKNOWN"),
    pytest.param(
        {"received_at": T0 + timedelta(seconds=5) + US},
        OrderRejectCode.QUOTE_EXPIRED,
        99,
        id="QUOTE_EXPIRED",
    ),
    pytest.param({"symbol": "ETH/USDT"}, OrderRejectCode.SYMBOL_MISMATCH, 99, id="SYMBOL_MISMATCH"),
    pytest.param(
        {"qty": Decimal("2.00001")}, OrderRejectCode.QTY_ABOVE_QUOTE, 99, id="QTY_ABOVE_QUOTE"
    ),
    pytest.param(
        {"price": Decimal("60100.01")}, OrderRejectCode.PRICE_MISMATCH, 99, id="PRICE_MISMATCH"
    ),
    pytest.param(
        {"price": Decimal(59900)},  # the bid, for a client buy
        OrderRejectCode.PRICE_MISMATCH,
        99,
        id="PRICE_MISMATCH-other-side",
    ),
    pytest.param({"price": None}, OrderRejectCode.PRICE_MISMATCH, 99, id="PRICE_MISMATCH-none"),
]


@pytest.mark.parametrize(("changes", "code", "reason"), SIMPLE_REJECTS)
def test_handle_when_order_invalid_then_rejected_recorded_and_quote_not_consumed(
    desk: Rig, changes: dict[str, Any], code: OrderRejectCode, reason: int
) -> None:
    q = desk.issue()
    bad = order(q, **changes)

    with capture_logs() as logs:
        outcome = rejected(desk.service.handle(bad), code, reason)

    assert (outcome.cl_ord_id, outcome.side) == (bad.cl_ord_id, bad.side)
    assert_recorded_rejection(desk, bad.cl_ord_id, code)
    [event] = [e for e in logs if e["event"] == "order.rejected"]
    assert (event["code"], event["reason"], event["text"]) == (code.name, reason, outcome.text)
    assert desk.counts()["trades"] == 0
    # The failed order did not use the quote up: a correct order still fills.
    filled(desk.service.handle(order(q)))


def test_handle_when_quote_issued_to_other_counterparty_then_quote_unknown_without_leak(
    desk: Rig,
) -> None:
    theirs = desk.issue(counterparty="CLIENT2")

    outcome = rejected(
        desk.service.handle(order(theirs, counterparty="CLIENT1")),
        OrderRejectCode.QUOTE_UNKNOWN,
        5,
    )

    assert outcome.text == f"QUOTE_UNKNOWN: quote {theirs.quote_id} is not known"
    filled(desk.service.handle(order(theirs)))  # still there for its owner


def test_handle_when_quote_indicative_then_quote_indicative(desk: Rig) -> None:
    q = desk.issue(indicative=True)

    rejected(desk.service.handle(order(q)), OrderRejectCode.QUOTE_INDICATIVE, 99)


def test_handle_when_quote_already_executed_then_quote_already_executed(desk: Rig) -> None:
    q = desk.issue()
    filled(desk.service.handle(order(q, qty=Decimal(1))))

    rejected(
        desk.service.handle(order(q, qty=Decimal(1))), OrderRejectCode.QUOTE_ALREADY_EXECUTED, 99
    )
    assert desk.counts()["trades"] == 1


def test_handle_when_quote_one_sided_and_order_on_other_side_then_side_mismatch(
    desk: Rig,
) -> None:
    q = desk.issue(side=Side.BUY, bid_px=None)

    rejected(
        desk.service.handle(order(q, side=Side.SELL, price=Decimal(59900))),
        OrderRejectCode.SIDE_MISMATCH,
        99,
    )
    filled(desk.service.handle(order(q)))


@pytest.mark.parametrize("scope", ["desk", "instrument", "counterparty"])
def test_handle_when_halted_then_halted_and_quote_not_consumed(
    shipped_config: DeskConfig, sqlite_ledger: Ledger, clock: FakeClock, scope: str
) -> None:
    config = {
        "desk": replace(shipped_config, halted=True),
        "instrument": with_instrument(shipped_config, "BTC/USDT", halted=True),
        "counterparty": with_counterparty(shipped_config, "CLIENT1", halted=True),
    }[scope]
    desk = rig(config, sqlite_ledger, clock)
    q = desk.issue()

    rejected(desk.service.handle(order(q)), OrderRejectCode.HALTED, 2)
    assert desk.quote_book.lookup(q.quote_id, "CLIENT1", T0) == q


def test_handle_when_notional_above_counterparty_max_then_notional_limit(desk: Rig) -> None:
    # CLIENT2 may trade 1,000,000 USDT at most; 20 BTC at 60100 is 1,202,000.
    q = desk.issue(counterparty="CLIENT2", qty=Decimal(20))

    rejected(desk.service.handle(order(q)), OrderRejectCode.NOTIONAL_LIMIT, 3)
    filled(desk.service.handle(order(q, qty=Decimal(16))))  # 961,600


def test_handle_when_credit_line_would_be_exceeded_then_credit_limit(
    shipped_config: DeskConfig, sqlite_ledger: Ledger, clock: FakeClock
) -> None:
    # CLIENT1's line is 10,000,000; 9,900,000 used plus 120,200 is over it.
    desk = rig(shipped_config, sqlite_ledger, clock, credit_used={"CLIENT1": Decimal(9_900_000)})
    q = desk.issue()

    rejected(desk.service.handle(order(q)), OrderRejectCode.CREDIT_LIMIT, 3)
    filled(desk.service.handle(order(q, qty=Decimal(1))))  # 60,100 fits


# --- ClOrdID idempotency --------------------------------------------------------------------


def test_handle_when_cl_ord_id_reused_then_duplicate_and_no_second_trade(desk: Rig) -> None:
    first, second = desk.issue(), desk.issue()
    filled(desk.service.handle(order(first, cl_ord_id="C-1")))

    outcome = desk.service.handle(order(second, cl_ord_id="C-1"))

    rejected(outcome, OrderRejectCode.DUPLICATE_CLORDID, 6)
    assert desk.counts() == {"orders": 1, "trades": 1, "hedge_intents": 1, "fills": 1}
    filled(desk.service.handle(order(second, cl_ord_id="C-2")))


def test_handle_when_cl_ord_id_reused_on_a_used_quote_then_duplicate_not_quote_used(
    desk: Rig,
) -> None:
    # The reused ClOrdID is the answer even when the order would fail validation too.
    q = desk.issue()
    filled(desk.service.handle(order(q, cl_ord_id="C-1")))

    with capture_logs() as logs:
        outcome = desk.service.handle(order(q, cl_ord_id="C-1"))

    rejected(outcome, OrderRejectCode.DUPLICATE_CLORDID, 6)
    assert desk.counts() == {"orders": 1, "trades": 1, "hedge_intents": 1, "fills": 1}
    assert [e["event"] for e in logs] == ["order.received", "order.rejected"]


def test_handle_when_poss_resend_of_filled_order_then_original_fill_resent(desk: Rig) -> None:
    q = desk.issue()
    original = filled(desk.service.handle(order(q, cl_ord_id="C-1")))

    with capture_logs() as logs:
        again = filled(desk.service.handle(order(q, cl_ord_id="C-1", poss_resend=True)))

    assert again.resent is True
    assert replace(again, resent=False) == original
    assert desk.counts() == {"orders": 1, "trades": 1, "hedge_intents": 1, "fills": 1}
    assert [e["event"] for e in logs] == ["order.received", "order.fill_resent"]


def test_handle_when_poss_resend_of_rejected_order_then_duplicate(desk: Rig) -> None:
    q = desk.issue()
    rejected(
        desk.service.handle(order(q, cl_ord_id="C-1", ord_type="1")),
        OrderRejectCode.BAD_ORDTYPE,
        99,
    )

    outcome = desk.service.handle(order(q, cl_ord_id="C-1", poss_resend=True))

    rejected(outcome, OrderRejectCode.DUPLICATE_CLORDID, 6)


def test_handle_when_cl_ord_id_of_rejected_order_reused_then_duplicate(desk: Rig) -> None:
    q = desk.issue()
    rejected(
        desk.service.handle(order(q, cl_ord_id="C-9", time_in_force="3")),
        OrderRejectCode.BAD_TIF,
        99,
    )

    rejected(desk.service.handle(order(q, cl_ord_id="C-9")), OrderRejectCode.DUPLICATE_CLORDID, 6)

    record = desk.ledger.find_order("CLIENT1", "C-9")
    assert record is not None
    assert record.reject_code == "BAD_TIF"  # the first order keeps its ClOrdID
    filled(desk.service.handle(order(q, cl_ord_id="C-10")))


# --- order status ---------------------------------------------------------------------------


def status_request(cl_ord_id: str, counterparty: str = "CLIENT1") -> StatusRequest:
    return StatusRequest(counterparty, cl_ord_id, "BTC/USDT", Side.BUY, T0)


def test_status_when_order_filled_then_filled_with_qty_and_price(desk: Rig) -> None:
    fill = filled(desk.service.handle(order(desk.issue(), cl_ord_id="C-1")))

    report = desk.service.status(status_request("C-1"))

    assert report.filled is True
    assert (report.order_id, report.cl_ord_id) == (fill.order_id, "C-1")
    assert (report.qty, report.price, report.side) == (Decimal(2), Decimal(60100), Side.BUY)
    assert report.text is None
    assert report.exec_id != fill.exec_id


def test_status_when_order_rejected_then_not_filled_with_reject_text(desk: Rig) -> None:
    outcome = desk.service.handle(order(desk.issue(), cl_ord_id="C-1", ord_type="2"))
    rej = rejected(outcome, OrderRejectCode.BAD_ORDTYPE, 99)

    report = desk.service.status(status_request("C-1"))

    assert report.filled is False
    assert report.order_id == rej.order_id
    assert report.text == rej.text
    assert report.price is None


def test_status_when_cl_ord_id_unknown_then_unknown_order(desk: Rig) -> None:
    report = desk.service.status(status_request("C-404"))

    assert report.filled is None
    assert report.order_id == "NONE"
    assert report.text is not None
    assert report.text.startswith("UNKNOWN_ORDER: ")


def test_status_when_order_belongs_to_other_counterparty_then_unknown_order(desk: Rig) -> None:
    filled(desk.service.handle(order(desk.issue(), cl_ord_id="C-1")))

    report = desk.service.status(status_request("C-1", counterparty="CLIENT2"))

    assert report.filled is None
    assert report.qty is None
