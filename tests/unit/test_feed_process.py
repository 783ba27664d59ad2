"""The market-data feed in its own process, as the desk runs it, against the real simulator:
its books land in the desk's snapshot on the desk's clock, a child that dies is replaced,
a message that is not a book is refused, and stop ends it."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import structlog

from desk.clock import SystemClock
from desk.config.model import MarketDataConfig
from desk.marketdata.own_process import FeedProcess
from desk.marketdata.snapshot import MarketSnapshot
from exchange_sim.runner import SimulatorThread
from tests.fixtures.desk import VENUES
from tests.unit.test_marketdata_feed import (
    DEPTH,
    SYMBOLS,
    assert_matches_sim_when_frozen,
    book,
    venue_configs,
    wait_until,
)

CONFIG = MarketDataConfig(
    poll_interval_ms=50, stale_after_ms=1500, request_timeout_ms=1000, stream_retry_ms=200
)

# A child that answers like the real one but sends one message that is not a book, then
# one that is, and waits for the desk's STOP.
_BOGUS_CHILD = """
import sys
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from desk.marketdata.snapshot import VenueBook
with Connection(int(sys.argv[1])) as pipe:
    pipe.recv()
    pipe.send(("ready", None))
    pipe.send(("book", {"bids": [["1", "1"]]}))
    pipe.send(("book", VenueBook("sim-a", "BTC/USDT", ((Decimal("99"), Decimal("1")),),
        ((Decimal("101"), Decimal("2")),), 7, datetime.now(UTC), 0.0, "stream")))
    while pipe.recv() != "stop":
        pass
"""


@contextmanager
def feed_process(
    feed: FeedProcess, snapshot: MarketSnapshot, *, books: bool = True
) -> Iterator[FeedProcess]:
    feed.start()
    try:
        assert feed.wait_ready(60)
        if books:
            wait_until(lambda: all(snapshot.get(v, s) for v in VENUES for s in SYMBOLS), 20)
        yield feed
    finally:
        feed.stop()


def test_books_arrive_on_the_desks_clock_and_a_killed_child_is_replaced(
    simulator: SimulatorThread,
) -> None:
    snapshot = MarketSnapshot()
    process = FeedProcess(
        venue_configs(simulator), SYMBOLS, CONFIG, snapshot, SystemClock(), restart_min_s=0.05
    )
    with structlog.testing.capture_logs() as logs:
        with feed_process(process, snapshot) as feed:
            first_pid = feed.pid
            assert first_pid is not None
            assert first_pid != os.getpid()
            got = book(snapshot, "sim-a")
            assert got.source == "stream"
            assert len(got.bids) == len(got.asks) == DEPTH
            assert all(type(x) is Decimal for level in got.bids + got.asks for x in level)
            # Across the pipe, level for level what the venue holds.
            assert_matches_sim_when_frozen(simulator, snapshot, "sim-a")
            # Freshness is the desk's own monotonic time at arrival, not the child's.
            assert 0 <= time.monotonic() - got.changed_mono < 1.0

            os.kill(first_pid, signal.SIGKILL)
            wait_until(lambda: feed.pid not in (None, first_pid) and feed.wait_ready(0), 60)
            killed_at = time.monotonic()
            wait_until(lambda: book(snapshot, "sim-b").changed_mono > killed_at, 20)
            last_pid = feed.pid
            stop_begun = time.monotonic()
        stop_took = time.monotonic() - stop_begun

    assert stop_took < 5
    assert process.pid is None
    assert last_pid is not None
    assert not _alive(last_pid)
    [died, stopped] = [e for e in logs if e["event"] == "md.process_exited"]
    assert (died["exit_code"], died["was_ready"], died["log_level"]) == (-9, True, "error")
    assert (stopped["exit_code"], stopped["log_level"]) == (0, "info")
    assert len([e for e in logs if e["event"] == "md.process_started"]) == 2
    after_stop = book(snapshot, "sim-a")
    time.sleep(0.5)
    assert book(snapshot, "sim-a") is after_stop  # nothing writes after stop


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_message_that_is_not_a_book_is_logged_and_dropped() -> None:
    snapshot = MarketSnapshot()
    process = FeedProcess(
        [],
        SYMBOLS,
        CONFIG,
        snapshot,
        SystemClock(),
        command=lambda fd: [sys.executable, "-c", _BOGUS_CHILD, str(fd)],
    )
    with structlog.testing.capture_logs() as logs, feed_process(process, snapshot, books=False):
        wait_until(lambda: snapshot.get("sim-a", "BTC/USDT") is not None)
    [unknown] = [e for e in logs if e["event"] == "md.process_message_unknown"]
    assert "bids" in unknown["message"]
    got = book(snapshot, "sim-a")
    assert (got.best_bid, got.best_ask, got.update_id) == (Decimal(99), Decimal(101), 7)
