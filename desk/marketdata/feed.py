"""The market-data feed: every venue's books, streamed (or polled) on an asyncio loop thread.

One ccxt exchange per venue (``ccxt.pro`` when streaming) and one task per venue/symbol
(:class:`~desk.marketdata.symbol_feed.SymbolFeed`). Every book that arrives is written into
the shared :class:`~desk.marketdata.snapshot.MarketSnapshot`, which is all the quote path
reads; the feed itself is never on the quote path. The desk runs it in a process of its own
(``desk.marketdata.own_process``), whose books reach the desk's snapshot over a pipe; the
hedger's process, and a desk on an injected clock, run it on a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from desk.clock import Clock
from desk.config.model import MarketDataConfig, VenueConfig
from desk.marketdata.ccxt_books import venue_book
from desk.marketdata.feed_status import FeedStatus, SymbolFeedStatus
from desk.marketdata.rest_poll import Publish, RestPoller, describe
from desk.marketdata.snapshot import BookSink, BookSource
from desk.marketdata.symbol_feed import SymbolFeed
from desk.venues.ccxt_factory import make_exchange

log = structlog.get_logger("desk.marketdata")
# Bounds on start/stop so a wedged venue can never hang the desk's start or shutdown.
_START_TIMEOUT_S = 5.0
_CLOSE_TIMEOUT_S = 3.0


class BookFeed:
    """Owns the market-data thread and loop; start() returns at once, books follow."""

    def __init__(
        self,
        venues: Sequence[VenueConfig],
        symbols: Sequence[str],
        config: MarketDataConfig,
        snapshot: BookSink,
        clock: Clock,
    ) -> None:
        self._venues = tuple(venues)
        self._symbols = tuple(symbols)
        self._config = config
        self._snapshot = snapshot
        self._clock = clock
        self._status = FeedStatus(clock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._stop_requested = threading.Event()

    def start(self) -> None:
        """Start the loop thread; returns at once (books arrive as venues answer)."""
        if self._thread is not None:
            raise RuntimeError("BookFeed can only be started once")
        self._thread = threading.Thread(target=self._run, name="market-data", daemon=True)
        self._thread.start()
        self._started.wait(_START_TIMEOUT_S)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel every task, close the ccxt exchanges and join the thread (bounded)."""
        self._stop_requested.set()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            # A closed loop raises RuntimeError: the thread is then finishing on its own.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("md.feed.stop_timeout", timeout_s=timeout)
            self._thread = None

    def status(self) -> dict[str, dict[str, SymbolFeedStatus]]:
        """``{venue: {symbol: SymbolFeedStatus}}``: how each book arrives now (any thread)."""
        return self._status.snapshot()

    def _run(self) -> None:
        try:
            # asyncio.run also cancels whatever ccxt left scheduled and closes the loop.
            asyncio.run(self._main())
        except Exception:
            log.exception("md.feed.crashed")
        finally:
            self._started.set()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._started.set()
        tasks = [asyncio.create_task(self._run_venue(v), name=f"md-{v.name}") for v in self._venues]
        # stop() may have run before the event existed; the flag covers that window.
        if not self._stop_requested.is_set():
            await self._stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_venue(self, venue: VenueConfig) -> None:
        streaming = self._config.streaming
        exchange = make_exchange(
            venue, timeout_ms=self._config.request_timeout_ms, streaming=streaming
        )
        try:
            await self._load_markets(exchange, venue.name)
            feeds = [self._symbol_feed(exchange, venue.name, s) for s in self._symbols]
            await asyncio.gather(
                *(f.stream_with_fallback() if streaming else f.poll_only() for f in feeds)
            )
        finally:
            await _close(exchange, venue.name)

    async def _load_markets(self, exchange: Any, venue: str) -> None:
        bound = log.bind(venue=venue)
        failing = False
        # Until it works or the feed stops (cancellation ends the wait).
        while True:
            try:
                await exchange.load_markets()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:
                    bound.warning("md.venue.failed", error=describe(exc))
                    failing = True
                await asyncio.sleep(self._config.poll_interval_ms / 1000)
                continue
            bound.info("md.venue.ready", symbols=len(exchange.markets))
            return

    def _symbol_feed(self, exchange: Any, venue: str, symbol: str) -> SymbolFeed:
        bound = log.bind(venue=venue, symbol=symbol)
        poller = RestPoller(
            exchange,
            symbol,
            depth=self._config.depth_levels,
            interval_s=self._config.poll_interval_ms / 1000,
            publish=self._publisher(venue, symbol, "poll"),
            log=bound,
        )
        return SymbolFeed(
            exchange,
            venue,
            symbol,
            poller=poller,
            publish_stream=self._publisher(venue, symbol, "stream"),
            status=self._status,
            retry_s=self._config.stream_retry_ms / 1000,
            request_timeout_s=self._config.request_timeout_ms / 1000,
            log=bound,
        )

    def _publisher(self, venue: str, symbol: str, source: BookSource) -> Publish:
        def publish(raw: Mapping[str, Any]) -> None:
            book = venue_book(
                raw,
                venue=venue,
                symbol=symbol,
                depth=self._config.depth_levels,
                source=source,
                received_at=self._clock.now(),
            )
            self._snapshot.update(book, self._clock.monotonic())
            self._status.book_seen(venue, symbol, book.update_id)

        return publish


async def _close(exchange: Any, venue: str) -> None:
    """Close ccxt's HTTP session and sockets, bounded: shutdown must not hang on a venue."""
    try:
        await asyncio.wait_for(exchange.close(), _CLOSE_TIMEOUT_S)
    except Exception as exc:
        log.warning("md.venue.close_failed", venue=venue, error=describe(exc))
