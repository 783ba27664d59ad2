"""The market-data feed's own process: ``python -m desk.marketdata.feed_main PIPE_FD``.

Started by ``FeedProcess`` (``desk.marketdata.own_process``, a ``SupervisedChild``).
``PIPE_FD`` is a duplex pipe: the desk sends ``(venues, symbols, market-data config, logging
settings)`` first and ``STOP`` at the end; this process answers ``("ready", None)`` once it
is set up, before any book, then ``("book", VenueBook)`` for every book it fetches (streamed
or polled), which the desk writes into its snapshot.

Why a process: each depth event costs ccxt about half a millisecond of Python, and the
simulator's venues send six at once every 100 ms. On a thread of the desk's that work held
the interpreter's lock against the FIX thread, and a quote waiting behind it waited for all
of it; here it runs beside the desk, which only unpickles finished books.

It ends on ``STOP``, or when the desk's end of the pipe closes (the desk exited or died).
Ctrl-C in the desk's terminal reaches this process too; it ignores it and lets the desk stop
it. SIGTERM stops it as ``STOP`` does.
"""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection

import structlog

from desk.clock import SystemClock
from desk.config.model import MarketDataConfig
from desk.log_setup import LogSettings, configure_logging
from desk.marketdata.feed import BookFeed
from desk.marketdata.snapshot import VenueBook
from desk.process.supervised import STOP

log = structlog.get_logger("desk.marketdata")


class PipeSink:
    """Sends each book to the desk; a desk that is gone ends this process (see ``serve``)."""

    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe
        self.broken = False

    def update(self, book: VenueBook, now_mono: float) -> None:
        if self.broken:
            return
        try:
            # Only the feed's thread calls this, and only after ready went out (see serve).
            self._pipe.send(("book", book))
        except OSError as exc:
            # The desk's end closed: serve's read sees it too and stops the feed.
            self.broken = True
            log.warning("md.desk_unreachable", error=str(exc))


def serve(pipe: Connection) -> None:
    venues, symbols, config, settings = pipe.recv()
    assert isinstance(config, MarketDataConfig)  # noqa: S101 - sent by FeedProcess
    assert isinstance(settings, LogSettings)  # noqa: S101
    configure_logging(
        settings.fmt, settings.level, stream=getattr(sys, settings.stream), process="market-data"
    )
    feed = BookFeed(venues, symbols, config, PipeSink(pipe), SystemClock())
    # Ready goes first: the desk reads it before any book, and once the feed's thread runs,
    # only it writes to the pipe (no two threads' messages can interleave).
    pipe.send(("ready", None))
    log.info("md.process_ready", venues=[v.name for v in venues], symbols=list(symbols))
    feed.start()
    try:
        while True:
            try:
                message = pipe.recv()
            except (EOFError, OSError):
                return  # the desk is gone
            if message == STOP:
                return
    finally:
        feed.stop()
        log.info("md.process_stopped")


def _stop_on_term(signum: int, frame: object) -> None:
    raise SystemExit(0)  # out of the wait, through serve's clean stop


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_on_term)
    with Connection(int(sys.argv[1])) as pipe:
        serve(pipe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
