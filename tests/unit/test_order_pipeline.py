"""OrderService with its booking queue running, on a real SQLite ledger held mid-booking:
what an order sees while an earlier one is still being booked.

The standard quote offers CLIENT1 2 BTC at 59900 / 60100 (120,200 USDT for the whole offer);
CLIENT1's credit line is 10,000,000 USDT.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from structlog.testing import capture_logs

from desk.clock import FakeClock
from desk.config.model import DeskConfig
from desk.domain.messages import (
    OrderFilled,
    OrderOutcome,
    OrderRejected,
    QuoteIssued,
    StatusReport,
    StatusRequest,
)
from desk.domain.rejects import OrderRejectCode
from desk.domain.side import Side
from desk.execution import order_service
from desk.execution.booking_queue import BookingQueue
from desk.execution.order_service import OrderService
from desk.positions.inventory import Inventory
from desk.quoting.ids import IdFactory
from desk.quoting.quote_book import QuoteBook
from desk.risk.credit import CreditLines
from tests.ledger.factories import row_counts
from tests.ledger.groups_ledger import WAIT_S, GroupsLedger
from tests.unit.builders import T0, order, quote


class FailingLedger(GroupsLedger):
    """The database fails under every booking's writes, alone or in a group, as a lost
    connection would; reading still works."""

    def _write_fills(self, conn: Connection, prepared: Any) -> list[int]:
        raise ConnectionError("server closed the connection unexpectedly")

    def _write_fill(self, conn: Connection, prepared: Any) -> int:
        raise ConnectionError("server closed the connection unexpectedly")


class RefusingLedger(GroupsLedger):
    """The database refuses the rows of one ClOrdID (a constraint), and only those."""

    refused = "N-1"

    def _write_fill(self, conn: Connection, prepared: Any) -> int:
        if prepared.order["cl_ord_id"] == self.refused:
            raise IntegrityError("INSERT INTO orders ...", {}, Exception("check constraint"))
        return super()._write_fill(conn, prepared)


@dataclass
class Pipeline:
    service: OrderService
    ledger: GroupsLedger
    quote_book: QuoteBook
    credit: CreditLines

    def issue(self, **overrides: Any) -> QuoteIssued:
        q = quote(**overrides)
        self.quote_book.add(q)
        return q


class Replies:
    def __init__(self) -> None:
        self.outcomes: dict[str, OrderOutcome] = {}
        self._changed = threading.Condition()

    def to(self, cl_ord_id: str) -> Any:
        def reply(outcome: OrderOutcome) -> None:
            with self._changed:
                self.outcomes[cl_ord_id] = outcome
                self._changed.notify_all()

        return reply

    def wait_for(self, cl_ord_id: str) -> OrderOutcome:
        with self._changed:
            assert self._changed.wait_for(lambda: cl_ord_id in self.outcomes, WAIT_S)
            return self.outcomes[cl_ord_id]


def _pipeline(
    config: DeskConfig,
    ledger: GroupsLedger,
    clock: FakeClock,
    used: Decimal = Decimal(0),
    *,
    inventory: Inventory | None = None,
    on_booked: Callable[[str], None] | None = None,
) -> Iterator[Pipeline]:
    book = QuoteBook()
    credit = CreditLines({"CLIENT1": used}, clock.now())
    ids = IdFactory(ledger.start_boot(clock.now(), "unit-test", 1))
    service = OrderService(
        config,
        ledger,
        clock,
        ids,
        book,
        credit,
        inventory if inventory is not None else Inventory(),
        on_booked=on_booked,
        bookings=BookingQueue(ledger, lone_on_caller=False),
    )
    service.start()
    try:
        yield Pipeline(service, ledger, book, credit)
    finally:
        ledger.release()
        service.stop()
        ledger.engine.dispose()


@pytest.fixture
def pipeline(shipped_config: DeskConfig, sqlite_url: str, clock: FakeClock) -> Iterator[Pipeline]:
    yield from _pipeline(shipped_config, GroupsLedger(sqlite_url), clock, Decimal(0))


def _held_order(p: Pipeline, replies: Replies, **overrides: Any) -> QuoteIssued:
    """Submit an order on a fresh quote and return once its booking is held mid-way."""
    q = p.issue()
    p.ledger.hold()
    request = order(q, **overrides)
    p.service.submit(request, replies.to(request.cl_ord_id))
    assert p.ledger.holding.wait(WAIT_S)
    assert request.cl_ord_id not in replies.outcomes
    return q


def test_a_fill_is_answered_after_its_booking_on_the_booking_thread(pipeline: Pipeline) -> None:
    replies = Replies()
    _held_order(pipeline, replies, cl_ord_id="F-1")
    assert row_counts(pipeline.ledger.engine)["trades"] == 0

    pipeline.ledger.release()
    fill = replies.wait_for("F-1")

    assert isinstance(fill, OrderFilled)
    assert pipeline.ledger.threads == ["bookings"]
    record = pipeline.ledger.find_order("CLIENT1", "F-1")
    assert record is not None
    assert record.exec_id == fill.exec_id


def test_credit_is_taken_when_the_order_is_queued_so_the_next_order_counts_it(
    shipped_config: DeskConfig, sqlite_url: str, clock: FakeClock
) -> None:
    # 9,850,000 used: one whole offer (120,200) fits the 10,000,000 line, two do not.
    for p in _pipeline(shipped_config, GroupsLedger(sqlite_url), clock, Decimal(9_850_000)):
        replies = Replies()
        _held_order(p, replies, cl_ord_id="K-1")

        second = order(p.issue(), cl_ord_id="K-2")
        p.service.submit(second, replies.to("K-2"))
        refused = replies.wait_for("K-2")  # answered while K-1 is still being booked

        assert isinstance(refused, OrderRejected)
        assert refused.code is OrderRejectCode.CREDIT_LIMIT
        assert "K-1" not in replies.outcomes
        p.ledger.release()
        assert isinstance(replies.wait_for("K-1"), OrderFilled)
        assert p.credit.used("CLIENT1", T0) == Decimal(9_970_200)


def test_a_refused_booking_gives_its_quote_and_credit_back(pipeline: Pipeline) -> None:
    replies = Replies()
    first = pipeline.issue()
    pipeline.service.submit(order(first, cl_ord_id="R-1"), replies.to("R-1"))
    assert isinstance(replies.wait_for("R-1"), OrderFilled)
    used = pipeline.credit.used("CLIENT1", T0)

    # The same ClOrdID on another quote: refused by the ledger's unique key when booked.
    second = pipeline.issue()
    pipeline.service.submit(order(second, cl_ord_id="R-1"), replies.to("R-1 again"))
    refused = replies.wait_for("R-1 again")

    assert isinstance(refused, OrderRejected)
    assert refused.code is OrderRejectCode.DUPLICATE_CLORDID
    assert pipeline.credit.used("CLIENT1", T0) == used
    pipeline.service.submit(order(second, cl_ord_id="R-2"), replies.to("R-2"))
    assert isinstance(replies.wait_for("R-2"), OrderFilled)  # the quote is executable again


def test_a_status_request_waits_for_the_order_being_booked(pipeline: Pipeline) -> None:
    replies = Replies()
    _held_order(pipeline, replies, cl_ord_id="W-1")
    reports: list[StatusReport] = []
    asking = threading.Thread(
        target=lambda: reports.append(
            pipeline.service.status(
                StatusRequest(
                    counterparty="CLIENT1",
                    cl_ord_id="W-1",
                    symbol="BTC/USDT",
                    side=Side.BUY,
                    received_at=T0,
                )
            )
        )
    )
    asking.start()
    asking.join(0.3)
    assert asking.is_alive()  # not answered UNKNOWN_ORDER while the order is in flight

    pipeline.ledger.release()
    asking.join(WAIT_S)

    [report] = reports
    assert report.filled is True
    assert report.text is None


def test_a_resend_of_an_order_being_booked_gets_the_original_fill(pipeline: Pipeline) -> None:
    replies = Replies()
    q = _held_order(pipeline, replies, cl_ord_id="P-1")
    resend = replace(order(q, cl_ord_id="P-1"), poss_resend=True)
    resending = threading.Thread(
        target=pipeline.service.submit, args=(resend, replies.to("P-1 resend"))
    )
    resending.start()
    resending.join(0.3)
    assert resending.is_alive()  # waits for the first booking's answer

    pipeline.ledger.release()
    resending.join(WAIT_S)
    original, again = replies.wait_for("P-1"), replies.wait_for("P-1 resend")

    assert isinstance(original, OrderFilled)
    assert isinstance(again, OrderFilled)
    assert again.resent is True
    assert again.exec_id == original.exec_id
    assert row_counts(pipeline.ledger.engine)["trades"] == 1


def test_orders_queued_behind_a_booking_are_booked_in_one_group(pipeline: Pipeline) -> None:
    replies = Replies()
    _held_order(pipeline, replies, cl_ord_id="G-0")
    for n in range(1, 5):
        pipeline.service.submit(order(pipeline.issue(), cl_ord_id=f"G-{n}"), replies.to(f"G-{n}"))

    pipeline.ledger.release()
    fills = [replies.wait_for(f"G-{n}") for n in range(5)]

    assert all(isinstance(f, OrderFilled) for f in fills)
    assert pipeline.ledger.groups == [1, 4]
    assert len({f.exec_id for f in fills if isinstance(f, OrderFilled)}) == 5


def test_a_group_whose_database_fails_is_answered_query_status_and_keeps_quotes_and_credit(
    shipped_config: DeskConfig, sqlite_url: str, clock: FakeClock
) -> None:
    for p in _pipeline(shipped_config, FailingLedger(sqlite_url), clock):
        replies = Replies()
        first = _held_order(p, replies, cl_ord_id="X-0")
        quotes = [first]
        with capture_logs() as logs:
            for n in (1, 2):
                quotes.append(q := p.issue())
                p.service.submit(order(q, cl_ord_id=f"X-{n}"), replies.to(f"X-{n}"))
            p.ledger.release()
            answers = [replies.wait_for(f"X-{n}") for n in range(3)]

        assert p.ledger.groups == [1, 2]
        for answer in answers:
            assert isinstance(answer, OrderRejected)
            assert answer.code is OrderRejectCode.INTERNAL_ERROR
            assert answer.text == "INTERNAL_ERROR: the order could not be booked; query its status"
        [group] = [e for e in logs if e["event"] == "ledger.booking.group_failed"]
        assert group["error"] == "ConnectionError: server closed the connection unexpectedly"
        failed = [e for e in logs if e["event"] == "order.booking_failed"]
        assert [e["cl_ord_id"] for e in failed] == ["X-0", "X-1", "X-2"]
        # The trades may be in the ledger: their quotes are not offered again, credit kept.
        p.service.submit(order(quotes[2], cl_ord_id="X-3"), replies.to("X-3"))
        again = replies.wait_for("X-3")
        assert isinstance(again, OrderRejected)
        assert again.code is OrderRejectCode.QUOTE_ALREADY_EXECUTED
        assert p.credit.used("CLIENT1", T0) == 3 * Decimal(120200)


def test_a_booking_the_ledger_refuses_costs_only_itself_and_gives_back_quote_and_credit(
    shipped_config: DeskConfig, sqlite_url: str, clock: FakeClock
) -> None:
    for p in _pipeline(shipped_config, RefusingLedger(sqlite_url), clock):
        replies = Replies()
        _held_order(p, replies, cl_ord_id="N-0")
        refused_quote = p.issue()
        p.service.submit(order(refused_quote, cl_ord_id="N-1"), replies.to("N-1"))
        p.service.submit(order(p.issue(), cl_ord_id="N-2"), replies.to("N-2"))
        p.ledger.release()

        assert isinstance(replies.wait_for("N-0"), OrderFilled)
        assert isinstance(replies.wait_for("N-2"), OrderFilled)
        refused = replies.wait_for("N-1")
        assert isinstance(refused, OrderRejected)
        assert refused.code is OrderRejectCode.INTERNAL_ERROR
        assert refused.text == "INTERNAL_ERROR: the order was not booked"
        assert p.credit.used("CLIENT1", T0) == 2 * Decimal(120200)
        assert row_counts(p.ledger.engine)["trades"] == 2
        # Nothing of it was written: its quote can be executed by another order.
        p.service.submit(order(refused_quote, cl_ord_id="N-3"), replies.to("N-3"))
        assert isinstance(replies.wait_for("N-3"), OrderFilled)


def test_when_a_fill_cannot_be_sent_the_order_is_answered_internal_error(
    pipeline: Pipeline,
) -> None:
    sent: list[OrderOutcome] = []

    def reply(outcome: OrderOutcome) -> None:
        if isinstance(outcome, OrderFilled):
            raise ValueError("cannot encode")
        sent.append(outcome)

    with capture_logs() as logs:
        pipeline.service.submit(order(pipeline.issue(), cl_ord_id="E-1"), reply)
        pipeline.service.stop()  # every booking answered

    [answer] = sent
    assert isinstance(answer, OrderRejected)
    assert answer.code is OrderRejectCode.INTERNAL_ERROR
    assert answer.text == "INTERNAL_ERROR: the order could not be booked; query its status"
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["order.answer_failed"]
    assert row_counts(pipeline.ledger.engine)["trades"] == 1  # booked: a status request says so


def test_a_status_request_waits_no_longer_than_the_in_flight_limit(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_service, "IN_FLIGHT_WAIT_S", 0.2)
    replies = Replies()
    _held_order(pipeline, replies, cl_ord_id="L-1")

    with capture_logs() as logs:
        report = pipeline.service.status(
            StatusRequest(
                counterparty="CLIENT1",
                cl_ord_id="L-1",
                symbol="BTC/USDT",
                side=Side.BUY,
                received_at=T0,
            )
        )

    assert report.text == "UNKNOWN_ORDER: ClOrdID L-1 is not known"
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "order.in_flight_wait_timed_out"
    ]
    pipeline.ledger.release()
    assert isinstance(replies.wait_for("L-1"), OrderFilled)


class BrokenInventory(Inventory):
    def apply(self, asset: str, delta: Decimal) -> Decimal:
        raise RuntimeError("a bug after the commit")


def test_when_answering_a_booked_order_fails_the_order_still_gets_an_answer(
    shipped_config: DeskConfig, sqlite_url: str, clock: FakeClock
) -> None:
    for p in _pipeline(
        shipped_config, GroupsLedger(sqlite_url), clock, inventory=BrokenInventory()
    ):
        replies = Replies()
        with capture_logs() as logs:
            p.service.submit(order(p.issue(), cl_ord_id="B-1"), replies.to("B-1"))
            answer = replies.wait_for("B-1")

    assert isinstance(answer, OrderRejected)
    assert answer.code is OrderRejectCode.INTERNAL_ERROR
    assert [e["log_level"] for e in logs if e["event"] == "order.answer_failed"] == ["error"]


def test_when_waking_the_hedger_fails_the_booked_order_is_still_filled(
    shipped_config: DeskConfig, sqlite_url: str, clock: FakeClock
) -> None:
    def wake(_symbol: str) -> None:
        raise BrokenPipeError("the hedger's pipe is closed")

    for p in _pipeline(shipped_config, GroupsLedger(sqlite_url), clock, on_booked=wake):
        replies = Replies()
        with capture_logs() as logs:
            p.service.submit(order(p.issue(), cl_ord_id="H-1"), replies.to("H-1"))
            answer = replies.wait_for("H-1")

    assert isinstance(answer, OrderFilled)
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["order.hedger_wake_failed"]
