"""desk.execution.booking_queue on a real SQLite ledger: queued bookings share a transaction,
a lone booking is made on its caller's thread, stop answers everything queued."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

import pytest
from structlog.testing import capture_logs

from desk.execution.booking_queue import BookingQueue
from desk.ledger.records import FillBooking, OrderRecord
from tests.ledger.factories import booking, row_counts
from tests.ledger.groups_ledger import WAIT_S, GroupsLedger

NEVER_A_BURST = 0  # an idle queue books on the caller's thread


@pytest.fixture
def ledger(sqlite_url: str) -> Iterator[GroupsLedger]:
    ledger = GroupsLedger(sqlite_url)
    try:
        yield ledger
    finally:
        ledger.release()
        ledger.engine.dispose()


class Answers:
    def __init__(self) -> None:
        self.results: dict[str, OrderRecord | Exception] = {}
        self.threads: dict[str, str] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def done_for(self, cl_ord_id: str) -> Callable[[OrderRecord | Exception], None]:
        def done(result: OrderRecord | Exception) -> None:
            with self._lock:
                self.results[cl_ord_id] = result
                self.threads[cl_ord_id] = threading.current_thread().name
                self._changed.notify_all()

        return done

    def wait(self, count: int) -> None:
        with self._lock:
            assert self._changed.wait_for(lambda: len(self.results) >= count, WAIT_S)


def submit(queue: BookingQueue, answers: Answers, cl_ord_id: str) -> None:
    queue.submit(booking(cl_ord_id=cl_ord_id), answers.done_for(cl_ord_id))


def test_bookings_queued_while_one_is_booked_are_booked_together(ledger: GroupsLedger) -> None:
    queue = BookingQueue(ledger, lone_on_caller=False)
    answers = Answers()
    queue.start()
    try:
        ledger.hold()
        submit(queue, answers, "Q-0")
        assert ledger.holding.wait(WAIT_S)  # the thread is booking Q-0
        for n in range(1, 6):
            submit(queue, answers, f"Q-{n}")
        ledger.release()
        answers.wait(6)
    finally:
        queue.stop()

    assert ledger.groups == [1, 5]
    assert set(ledger.threads) == {"bookings"}
    assert all(isinstance(r, OrderRecord) for r in answers.results.values())
    assert set(answers.threads.values()) == {"bookings"}
    assert row_counts(ledger.engine)["trades"] == 6


def test_a_group_is_at_most_max_group_bookings(ledger: GroupsLedger) -> None:
    queue = BookingQueue(ledger, max_group=2, lone_on_caller=False)
    answers = Answers()
    queue.start()
    try:
        ledger.hold()
        submit(queue, answers, "M-0")
        assert ledger.holding.wait(WAIT_S)
        for n in range(1, 6):
            submit(queue, answers, f"M-{n}")
        ledger.release()
        answers.wait(6)
    finally:
        queue.stop()

    assert ledger.groups == [1, 2, 2, 1]


def test_a_lone_booking_is_booked_on_the_callers_thread_before_submit_returns(
    ledger: GroupsLedger,
) -> None:
    queue = BookingQueue(ledger, burst_gap_ns=NEVER_A_BURST)
    answers = Answers()
    queue.start()
    try:
        submit(queue, answers, "A-0")
        assert isinstance(answers.results["A-0"], OrderRecord)  # answered already
        submit(queue, answers, "A-1")
        assert isinstance(answers.results["A-1"], OrderRecord)
    finally:
        queue.stop()

    assert answers.threads == {"A-0": "MainThread", "A-1": "MainThread"}


def test_a_booking_soon_after_the_last_answer_is_queued_as_part_of_a_burst(
    ledger: GroupsLedger,
) -> None:
    queue = BookingQueue(ledger, burst_gap_ns=60 * 10**9)
    answers = Answers()
    queue.start()
    try:
        submit(queue, answers, "B-0")  # nothing answered yet: booked here
        submit(queue, answers, "B-1")  # within the gap of B-0's answer: queued
        answers.wait(2)
    finally:
        queue.stop()

    assert answers.threads == {"B-0": "MainThread", "B-1": "bookings"}


def test_an_order_beside_one_being_booked_on_its_callers_thread_is_queued(
    ledger: GroupsLedger,
) -> None:
    queue = BookingQueue(ledger, burst_gap_ns=NEVER_A_BURST)
    answers = Answers()
    queue.start()
    try:
        ledger.hold()
        first = threading.Thread(target=submit, args=(queue, answers, "P-0"), name="session-1")
        first.start()
        assert ledger.holding.wait(WAIT_S)  # session-1 is booking P-0 itself
        submit(queue, answers, "P-1")  # returns at once: queued
        assert "P-1" not in answers.results
        ledger.release()
        first.join(WAIT_S)
        answers.wait(2)
    finally:
        queue.stop()

    assert answers.threads == {"P-0": "session-1", "P-1": "bookings"}


def test_stop_books_and_answers_everything_queued(ledger: GroupsLedger) -> None:
    queue = BookingQueue(ledger, lone_on_caller=False)
    answers = Answers()
    queue.start()
    ledger.hold()
    submit(queue, answers, "S-0")
    assert ledger.holding.wait(WAIT_S)
    for n in range(1, 8):
        submit(queue, answers, f"S-{n}")
    ledger.release()

    queue.stop()

    assert len(answers.results) == 8
    assert all(isinstance(r, OrderRecord) for r in answers.results.values())
    assert row_counts(ledger.engine)["trades"] == 8


def test_after_stop_a_booking_is_made_on_the_callers_thread(ledger: GroupsLedger) -> None:
    queue = BookingQueue(ledger, lone_on_caller=False)
    answers = Answers()
    queue.start()
    queue.stop()

    submit(queue, answers, "X-0")

    assert answers.threads == {"X-0": "MainThread"}
    assert isinstance(answers.results["X-0"], OrderRecord)


def test_an_answer_that_raises_is_logged_and_the_others_are_still_answered(
    ledger: GroupsLedger,
) -> None:
    queue = BookingQueue(ledger, lone_on_caller=False)
    answers = Answers()

    def explode(_result: OrderRecord | Exception) -> None:
        raise RuntimeError("the session is gone")

    queue.start()
    try:
        with capture_logs() as logs:
            ledger.hold()
            queue.submit(booking(cl_ord_id="E-0"), explode)
            assert ledger.holding.wait(WAIT_S)
            queue.submit(booking(cl_ord_id="E-1"), explode)
            submit(queue, answers, "E-2")
            ledger.release()
            answers.wait(1)
            submit(queue, answers, "E-3")  # the thread is still there
            answers.wait(2)
    finally:
        queue.stop()

    failed = [e for e in logs if e["event"] == "bookings.answer_failed"]
    assert [e["cl_ord_id"] for e in failed] == ["E-0", "E-1"]
    assert row_counts(ledger.engine)["trades"] == 4


def test_max_group_below_one_is_refused(ledger: GroupsLedger) -> None:
    with pytest.raises(ValueError, match="max_group must be at least 1, not 0"):
        BookingQueue(ledger, max_group=0)


class ShortLedger(GroupsLedger):
    """A ledger with a bug: no result for anything it is given."""

    def book_fills(self, bookings: Sequence[FillBooking]) -> list[OrderRecord | Exception]:
        return []


def test_when_the_ledger_answers_a_group_wrongly_every_booking_still_gets_an_answer(
    sqlite_url: str,
) -> None:
    ledger = ShortLedger(sqlite_url)
    queue = BookingQueue(ledger, lone_on_caller=False)
    answers = Answers()
    queue.start()
    try:
        with capture_logs() as logs:
            for n in range(3):
                submit(queue, answers, f"W-{n}")
            answers.wait(3)
    finally:
        queue.stop()
        ledger.engine.dispose()

    assert all(isinstance(r, RuntimeError) for r in answers.results.values())
    assert any(e["event"] == "bookings.group_failed" for e in logs)


def test_stop_is_idempotent_and_start_after_stop_books_on_the_thread_again(
    ledger: GroupsLedger,
) -> None:
    queue = BookingQueue(ledger, lone_on_caller=False)
    answers = Answers()
    queue.stop()  # never started
    queue.start()
    queue.stop()
    queue.stop()
    queue.start()
    try:
        submit(queue, answers, "R-0")
        answers.wait(1)
    finally:
        queue.stop()

    assert answers.threads == {"R-0": "bookings"}
