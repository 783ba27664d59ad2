"""Group commit for client bookings: one thread books every fill waiting in one transaction.

A counterparty that sends orders back to back would otherwise wait for one durable commit per
order on its session's thread, in sequence: QuickFIX hands a session's next message over only
when the callback for the previous one returns. Here the callback validates the order, claims
its quote and queues the booking; the booking thread takes everything queued (at most
``max_group``), books it in one transaction with every row of every trade, commits once, and
only then answers each order: a trade is still durably booked before its report
(ARCHITECTURE.md, money path). If the shared transaction fails, ``Ledger.book_fills`` books
each trade on its own, so one bad booking (a reused ClOrdID, say) costs only itself.

A lone order does not pay for the hand-over to the thread (65 µs at the median on this
project's 2-core machine, 0.5 ms at p99): when nothing is queued or being booked and the last
booking was answered more than ``burst_gap_ns`` ago, the caller books it on its own thread.
An order that follows the previous answer more closely is taken as part of a burst and queued,
so the orders behind it, already waiting on the socket, are booked together.

When the queue is not running (before ``start``, after ``stop``) every booking is made on the
caller's thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from desk.ledger.records import FillBooking, OrderRecord
from desk.ledger.repository import Ledger

log = structlog.get_logger("desk.bookings")

BookingDone = Callable[[OrderRecord | Exception], None]

MAX_GROUP = 64
"""Bookings per transaction at most: a bound on how long the first of them waits."""

BURST_GAP_NS = 400_000
"""An order this soon after the last booking's answer is queued, not booked on its caller's
thread: in a closed loop on this machine the next order comes 0.6 ms or more after the answer
(the report's trip, a QuoteRequest and its Quote, the order's trip); in a burst it is already
waiting on the socket."""

_STOP_WAIT_S = 30.0


@dataclass(frozen=True, slots=True)
class _Queued:
    booking: FillBooking
    done: BookingDone


class BookingQueue:
    """Books fills several per transaction on its own thread, or one on its caller's thread
    when nothing else is waiting; ``done`` gets what became of each booking (see
    ``Ledger.book_fills``) after its commit, on whichever thread booked it."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        max_group: int = MAX_GROUP,
        burst_gap_ns: int = BURST_GAP_NS,
        lone_on_caller: bool = True,
    ) -> None:
        """``lone_on_caller=False`` queues every booking while the queue runs."""
        if max_group < 1:
            raise ValueError(f"max_group must be at least 1, not {max_group}")
        self._ledger = ledger
        self._max_group = max_group
        self._burst_gap_ns = burst_gap_ns
        self._lone_on_caller = lone_on_caller
        self._queued: deque[_Queued] = deque()
        self._cond = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None
        self._booking = 0  # groups being booked now, on the thread or on callers' threads
        self._last_answered_ns: int | None = None  # time.monotonic_ns() of the last answer

    def start(self) -> None:
        with self._cond:
            if self._running:
                return
            self._running = True
            if self._thread is not None and self._thread.is_alive():
                return  # a stop that timed out: the old thread goes on
            self._thread = threading.Thread(target=self._run, name="bookings", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Book and answer everything queued, then stop; later bookings run on the caller."""
        with self._cond:
            self._running = False
            self._cond.notify()
            thread = self._thread
        if thread is None:
            return
        thread.join(_STOP_WAIT_S)
        if thread.is_alive():
            with self._cond:
                left = len(self._queued)
            log.error("bookings.stop_timed_out", waited_s=_STOP_WAIT_S, still_queued=left)

    def submit(self, booking: FillBooking, done: BookingDone) -> None:
        """Book ``booking`` now or queue it; ``done`` is called once, after its commit (or
        failure), on this thread or the queue's."""
        with self._cond:
            idle = self._lone_on_caller and not self._queued and self._booking == 0
            last = self._last_answered_ns
            burst = last is not None and time.monotonic_ns() - last < self._burst_gap_ns
            if self._running and (burst or not idle):
                self._queued.append(_Queued(booking, done))
                self._cond.notify()
                return
            self._booking += 1
        self._book([_Queued(booking, done)])

    def _book(self, group: list[_Queued]) -> None:
        try:
            try:
                results = self._ledger.book_fills([q.booking for q in group])
                if len(results) != len(group):
                    raise RuntimeError(f"{len(results)} results for {len(group)} bookings")
            except Exception as exc:  # book_fills answers per booking: belt and braces
                log.exception("bookings.group_failed", bookings=len(group))
                results = [exc] * len(group)
            _finish(group, results)
        finally:
            with self._cond:
                self._booking -= 1
                self._last_answered_ns = time.monotonic_ns()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queued and self._running:
                    self._cond.wait()
                if not self._queued:
                    return  # stopped, and nothing left to book
                take = min(self._max_group, len(self._queued))
                group = [self._queued.popleft() for _ in range(take)]
                self._booking += 1
            self._book(group)  # answers every booking of the group, whatever fails


def _finish(group: list[_Queued], results: list[OrderRecord | Exception]) -> None:
    for queued, result in zip(group, results, strict=True):
        try:
            queued.done(result)
        except Exception:
            # The thread must go on: the other orders of the group are waiting for answers.
            log.exception("bookings.answer_failed", cl_ord_id=queued.booking.cl_ord_id)
