"""Idempotent bookings on SQLite and PostgreSQL: a booking key repeated with the same terms
returns the original; with other terms it is a conflict, raised, logged, and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from structlog.testing import capture_logs

from desk.clock import FakeClock
from desk.config.loader import DEFAULT_CONFIG, load_config
from desk.domain.messages import OrderRejected
from desk.domain.rejects import OrderRejectCode
from desk.domain.side import Side
from desk.execution.order_service import OrderService
from desk.ledger.database import make_engine
from desk.ledger.hedge_store import HedgeStore
from desk.ledger.models import audit_log, fills, journal_entries, orders, postings
from desk.ledger.records import BookingConflict, ClOrdIDConflict, DuplicateClOrdID
from desk.ledger.repository import Ledger
from desk.positions.inventory import Inventory
from desk.quoting.ids import IdFactory
from desk.quoting.quote_book import QuoteBook
from desk.risk.credit import CreditLines
from tests.ledger.factories import T0, booking, rejection
from tests.ledger.test_journal import exchange_event
from tests.unit import builders

D = Decimal
COUNTED = (orders, fills, journal_entries, postings, audit_log)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in COUNTED
        }


def conflict_events(logs: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in logs if e["event"] == "ledger.booking.conflict"]


# --- client orders: ClOrdID per counterparty ------------------------------------------------


def test_book_fill_when_same_cl_ord_id_same_terms_then_original_and_no_conflict(
    ledger: Ledger,
) -> None:
    first = booking(cl_ord_id="I-1")
    original = ledger.book_fill(first)
    before = counts(ledger.engine)
    # A second attempt at the same order: fresh desk ids and time, same client terms.
    again = replace(first, order_id="1-O-again", exec_id="1-E-again", executed_at=T0 + timedelta(1))

    with capture_logs() as logs, pytest.raises(DuplicateClOrdID) as caught:
        ledger.book_fill(again)

    assert type(caught.value) is DuplicateClOrdID
    assert caught.value.existing == original
    assert conflict_events(logs) == []
    assert counts(ledger.engine) == before


def test_book_fill_when_same_cl_ord_id_other_terms_then_conflict_logged_and_nothing_written(
    ledger: Ledger,
) -> None:
    first = booking(cl_ord_id="I-2", qty=D(1), price=D(60000), notional=D(60000))
    original = ledger.book_fill(first)
    before = counts(ledger.engine)
    other = replace(first, order_id="1-O-x", exec_id="1-E-x", qty=D(2), notional=D(120000))

    with capture_logs() as logs, pytest.raises(ClOrdIDConflict) as caught:
        ledger.book_fill(other)

    conflict = caught.value
    assert isinstance(conflict, DuplicateClOrdID)  # the order service answers it as a repeat
    assert isinstance(conflict, BookingConflict)
    assert conflict.existing == original
    assert conflict.key == "client:ACME:I-2"
    assert conflict.differences == {"qty": (D(1), D(2))}
    assert str(conflict) == (
        "booking key client:ACME:I-2 reused with different terms (qty: booked 1, attempted 2)"
    )
    [event] = conflict_events(logs)
    assert {k: event[k] for k in ("booking_key", "fields", "booked", "attempted", "log_level")} == {
        "booking_key": "client:ACME:I-2",
        "fields": ["qty"],
        "booked": {"qty": "1"},
        "attempted": {"qty": "2"},
        "log_level": "warning",
    }
    assert counts(ledger.engine) == before


def test_record_rejection_when_cl_ord_id_filled_with_other_terms_then_conflict(
    ledger: Ledger,
) -> None:
    filled = ledger.book_fill(booking(cl_ord_id="I-3", side=Side.BUY))
    before = counts(ledger.engine)
    attempt = rejection(cl_ord_id="I-3", quote_id=filled.quote_id, side=Side.BUY)

    with capture_logs() as logs, pytest.raises(ClOrdIDConflict) as caught:
        ledger.record_rejection(attempt)

    assert caught.value.existing == filled
    assert set(caught.value.differences) == {"qty", "price"}
    assert conflict_events(logs)[0]["fields"] == ["price", "qty"]
    assert counts(ledger.engine) == before


def test_record_rejection_when_same_rejection_repeated_then_duplicate_only(ledger: Ledger) -> None:
    first = rejection(cl_ord_id="I-4")
    ledger.record_rejection(first)
    before = counts(ledger.engine)

    with capture_logs() as logs, pytest.raises(DuplicateClOrdID) as caught:
        ledger.record_rejection(replace(first, order_id="1-O-r", exec_id="1-E-r"))

    assert type(caught.value) is DuplicateClOrdID
    assert conflict_events(logs) == []
    assert counts(ledger.engine) == before


# --- exchange fills: trade id per venue -----------------------------------------------------


def test_book_fill_event_when_repeated_with_same_terms_then_false_and_written_once(
    ledger: Ledger,
) -> None:
    store = HedgeStore(ledger.engine)
    assert store.book_fill_event(exchange_event("E-1"), T0) is True
    before = counts(ledger.engine)

    # Venues report one trade at the order's time in one answer, the trade's in another.
    repeat = replace(exchange_event("E-1"), executed_at=T0 + timedelta(milliseconds=3))
    with capture_logs() as logs:
        assert store.book_fill_event(repeat, T0 + timedelta(seconds=5)) is False

    assert conflict_events(logs) == []
    assert counts(ledger.engine) == before


def test_book_fill_event_when_same_trade_id_other_terms_then_conflict_logged(
    ledger: Ledger,
) -> None:
    store = HedgeStore(ledger.engine)
    store.book_fill_event(exchange_event("E-2"), T0)
    before = counts(ledger.engine)

    with capture_logs() as logs, pytest.raises(BookingConflict) as caught:
        store.book_fill_event(exchange_event("E-2", price=D("60001"), fee=D("0.002")), T0)

    assert caught.value.key == "exchange:sim-a:E-2"
    assert caught.value.differences == {
        "price": (D("60000.5"), D("60001")),
        "fee": (D("0.001"), D("0.002")),
    }
    [event] = conflict_events(logs)
    assert event["fields"] == ["fee", "price"]
    assert counts(ledger.engine) == before


def test_same_trade_id_on_another_venue_is_another_fill(ledger: Ledger) -> None:
    store = HedgeStore(ledger.engine)

    assert store.book_fill_event(exchange_event("E-3", venue="sim-a"), T0) is True
    assert store.book_fill_event(exchange_event("E-3", venue="sim-b"), T0) is True

    assert counts(ledger.engine)["journal_entries"] == 2


# --- the order service: FIX answers unchanged, the conflict visible -------------------------


@pytest.fixture
def service(sqlite_url: str) -> Iterator[tuple[OrderService, QuoteBook]]:
    engine = make_engine(sqlite_url)
    clock = FakeClock(builders.T0)
    ledger = Ledger(engine)
    book = QuoteBook()
    ids = IdFactory(ledger.start_boot(clock.now(), "unit-test", 1))
    config = load_config(DEFAULT_CONFIG, env={})
    credit = CreditLines({}, clock.now())
    try:
        yield OrderService(config, ledger, clock, ids, book, credit, Inventory()), book
    finally:
        engine.dispose()


def test_order_when_cl_ord_id_reused_with_other_qty_then_duplicate_reject_and_conflict_logged(
    service: tuple[OrderService, QuoteBook],
) -> None:
    orders_, book = service
    first, second = builders.quote(), builders.quote()
    book.add(first)
    book.add(second)
    orders_.handle(builders.order(first, cl_ord_id="C-1"))

    with capture_logs() as logs:
        outcome = orders_.handle(builders.order(second, cl_ord_id="C-1", qty=D(1)))

    assert isinstance(outcome, OrderRejected)
    assert outcome.code is OrderRejectCode.DUPLICATE_CLORDID
    [event] = conflict_events(logs)
    assert event["booking_key"] == "client:CLIENT1:C-1"
    assert event["fields"] == ["qty", "quote_id"]


def test_order_when_exact_repeat_then_duplicate_reject_without_conflict(
    service: tuple[OrderService, QuoteBook],
) -> None:
    orders_, book = service
    q = builders.quote()
    book.add(q)
    orders_.handle(builders.order(q, cl_ord_id="C-1"))

    with capture_logs() as logs:
        outcome = orders_.handle(builders.order(q, cl_ord_id="C-1"))

    assert isinstance(outcome, OrderRejected)
    assert outcome.code is OrderRejectCode.DUPLICATE_CLORDID
    assert conflict_events(logs) == []
