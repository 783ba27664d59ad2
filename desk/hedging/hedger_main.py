"""The hedger's own process: ``python -m desk.hedging.hedger_main PIPE_FD WAKE_FD [BOOKS_FD]``.

Started by ``HedgerProcess`` (``desk.hedging.own_process``, a ``SupervisedChild``).
``PIPE_FD`` is a duplex pipe: the desk sends the configuration and its logging settings
first, and ``STOP`` at the end; this process answers ``("ready", totals)`` as it starts hedging,
then ``("hedged", asset, total)`` after every exchange fill it books. ``WAKE_FD`` carries
the desk's wake-ups, one symbol per line (``*``: look at the whole outbox), written without
blocking the desk.

It runs the same ``HedgeEngine`` as a desk that hedges on a thread, with its own ledger
connections and venue clients. The router needs the venues' books: with ``BOOKS_FD`` they
are the desk's, from its market-data process (``desk.marketdata.book_channel``), else this
process runs a market-data feed of its own. It starts hedging once it has every venue's book
of every instrument (or after 10 s), and ends on ``STOP``, or when the desk's end of the
pipe closes (the desk exited or died), letting its running batches reach a safe point
first: an order is always written down before it is sent, and a restart resolves it by its
client order id. Ctrl-C in the desk's terminal reaches this process too; it ignores it and
lets the desk stop it. SIGTERM stops it as ``STOP`` does.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from decimal import Decimal
from multiprocessing.connection import Connection, wait
from typing import Any

import structlog

from desk.clock import SystemClock
from desk.config.model import DeskConfig
from desk.hedging.engine import HedgeEngine
from desk.hedging.positions import HedgedPositions
from desk.ledger.database import make_engines
from desk.ledger.hedge_store import HedgeStore
from desk.log_setup import LogSettings, configure_logging
from desk.marketdata.book_channel import receive_books
from desk.marketdata.feed import BookFeed
from desk.marketdata.snapshot import MarketSnapshot
from desk.positions.inventory import Inventory
from desk.pricing.engine import PricingEngine
from desk.pricing.volatility import VolatilityBook
from desk.process.supervised import STOP
from desk.venues.ccxt_orders import open_hedging_venues

log = structlog.get_logger("desk.hedging")

SCAN_ALL = "*"
BOOKS_WAIT_S = 10.0
# The hedge's way out (batch, order row, ccxt, HTTP) crosses into C and back many times, and
# each time this process's market-data thread may take the GIL, for 5 ms at the default
# interval while a burst of depth events is handled. In two interleaved pairs per backend,
# 0.1 ms lowered hedge initiation's p50 in all four (SQLite 4.8/4.3 -> 4.2/4.1 ms,
# PostgreSQL 5.0/4.9 -> 4.2/4.2 ms) and its p90 in three; its p99 moved both ways.
GIL_SWITCH_INTERVAL_S = 0.0001


def serve(pipe: Connection, wake_fd: int, books_fd: int | None = None) -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    config, settings = pipe.recv()
    assert isinstance(config, DeskConfig)  # noqa: S101 - sent by HedgerProcess
    assert isinstance(settings, LogSettings)  # noqa: S101
    configure_logging(
        settings.fmt, settings.level, stream=getattr(sys, settings.stream), process="hedger"
    )
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock:
            pipe.send(message)

    def report(asset: str, total: Decimal) -> None:
        # Called by the hedger after a fill is booked: a desk that is gone must not fail
        # the batch (this process is stopping anyway; the ledger has the fill).
        try:
            send(("hedged", asset, total))
        except OSError as exc:
            log.warning("hedge.desk_unreachable", asset=asset, error=str(exc))

    clock = SystemClock()
    try:
        engines = make_engines(config.database_url)
    except Exception as exc:
        send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    try:
        store = HedgeStore(engines.durable, engines.deferred)
        hedged = HedgedPositions(store.hedged_positions(), report)
        symbols = sorted(config.instruments)
        snapshot = MarketSnapshot()
        feed = (
            BookFeed(config.venues, symbols, config.market_data, snapshot, clock)
            if books_fd is None
            else None
        )
        # Only the books are read here (routing, arrival mids): no inventory, no volatility.
        pricing = PricingEngine(
            config, snapshot, clock, Inventory(), VolatilityBook(symbols, config.pricing)
        )
        engine = HedgeEngine(config, store, open_hedging_venues(config), pricing, hedged, clock)
    except Exception as exc:
        log.exception("hedge.process_start_failed")
        send(("failed", f"{type(exc).__name__}: {exc}"))
        engines.dispose()
        return
    if feed is not None:
        feed.start()
    else:
        assert books_fd is not None  # noqa: S101 - no feed only when the desk sends books
        threading.Thread(
            target=receive_books, args=(books_fd, snapshot, clock), name="books", daemon=True
        ).start()
    _wait_for_books(snapshot, symbols, len(config.venues))
    # Ready goes before the engine starts: the desk takes the first message as the answer
    # to its start, and a resumed batch's fill could otherwise report ("hedged", ...) first.
    send(("ready", hedged.totals()))
    log.info("hedge.process_ready", pid=os.getpid())
    try:
        engine.start()
        _relay_wakeups(pipe, wake_fd, engine)
    finally:
        engine.stop()
        if feed is not None:
            feed.stop()
        engines.dispose()
        log.info("hedge.process_stopped", pid=os.getpid())


def _wait_for_books(snapshot: MarketSnapshot, symbols: list[str], venues: int) -> None:
    """Give the feed up to ``BOOKS_WAIT_S`` to bring every venue's book of every symbol: a
    batch opened without books has no arrival mid to measure slippage against, and a venue
    without one is left out of the routing."""
    deadline = time.monotonic() + BOOKS_WAIT_S
    while True:
        missing = [s for s in symbols if len(snapshot.books_for(s)) < venues]
        if not missing:
            return
        if time.monotonic() > deadline:
            log.warning("hedge.process_books_missing", symbols=missing, waited_s=BOOKS_WAIT_S)
            return
        time.sleep(0.01)


def _relay_wakeups(pipe: Connection, wake_fd: int, engine: HedgeEngine) -> None:
    """Hand the desk's wake-ups to the engine until ``STOP`` or the desk is gone."""
    pending = b""
    while True:
        for ready in wait([pipe, wake_fd]):
            if ready is pipe:
                try:
                    message = pipe.recv()
                except EOFError:
                    return
                if message == STOP:
                    return
                continue
            chunk = os.read(wake_fd, 65536)
            if not chunk:
                return  # the desk's end closed: it is gone
            *lines, pending = (pending + chunk).split(b"\n")
            for symbol in dict.fromkeys(lines):  # each symbol once, in order
                name = symbol.decode("ascii", "replace")
                engine.notify(None if name == SCAN_ALL else name)


def _stop_on_term(signum: int, frame: object) -> None:
    raise SystemExit(0)  # out of the wait, through serve's clean stop


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A service manager stopping the desk's whole group sends this to the hedger too: it
    # stops as on STOP, letting running batches reach a safe point.
    signal.signal(signal.SIGTERM, _stop_on_term)
    wake_fd = int(sys.argv[2])
    books_fd = int(sys.argv[3]) if len(sys.argv) > 3 else None
    with Connection(int(sys.argv[1])) as pipe:
        serve(pipe, wake_fd, books_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
