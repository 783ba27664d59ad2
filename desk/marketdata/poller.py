"""Polls every venue's books through ccxt on an asyncio loop in its own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import structlog

from desk.clock import Clock
from desk.config.model import MarketDataConfig, VenueConfig
from desk.marketdata.snapshot import Level, MarketSnapshot, VenueBook
from desk.venues.ccxt_factory import make_exchange

log = structlog.get_logger("desk.marketdata")


def _levels(raw: Sequence[Sequence[Any]], limit: int) -> tuple[Level, ...]:
    return tuple((Decimal(p), Decimal(q)) for p, q, *_ in raw[:limit])


class BookPoller:
    """Owns the market-data loop: one task per venue fetching each symbol's book in turn."""

    def __init__(
        self,
        venues: Sequence[VenueConfig],
        symbols: Sequence[str],
        config: MarketDataConfig,
        snapshot: MarketSnapshot,
        clock: Clock,
    ) -> None:
        self._venues = tuple(venues)
        self._symbols = tuple(symbols)
        self._config = config
        self._snapshot = snapshot
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()

    def start(self) -> None:
        """Start the loop thread; returns at once (books arrive as venues answer)."""
        self._thread = threading.Thread(target=self._run, name="market-data", daemon=True)
        self._thread.start()
        self._started.wait(5)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling, close the ccxt sessions and join the thread."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._started.set()
        tasks = [asyncio.create_task(self._poll_venue(v)) for v in self._venues]
        await self._stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _poll_venue(self, venue: VenueConfig) -> None:
        exchange = make_exchange(venue, timeout_ms=self._config.request_timeout_ms)
        bound = log.bind(venue=venue.name)
        interval = self._config.poll_interval_ms / 1000
        failing = False
        try:
            while True:
                try:
                    if not exchange.markets:
                        await exchange.load_markets()
                        bound.info("md.venue.ready", symbols=len(exchange.markets))
                    for symbol in self._symbols:
                        await self._fetch(exchange, venue.name, symbol)
                    if failing:
                        bound.info("md.venue.recovered")
                        failing = False
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Logged once per outage, not per poll, so a dead venue cannot flood the log.
                    if not failing:
                        bound.warning("md.venue.failed", error=f"{type(exc).__name__}: {exc}")
                        failing = True
                await asyncio.sleep(interval)
        finally:
            await exchange.close()

    async def _fetch(self, exchange: Any, venue: str, symbol: str) -> None:
        raw = await exchange.fetch_order_book(symbol, limit=self._config.depth_levels)
        nonce = raw.get("nonce")
        book = VenueBook(
            venue=venue,
            symbol=symbol,
            bids=_levels(raw["bids"], self._config.depth_levels),
            asks=_levels(raw["asks"], self._config.depth_levels),
            update_id=int(nonce) if nonce is not None else None,
            received_at=self._clock.now(),
            changed_mono=0.0,
        )
        self._snapshot.update(book, self._clock.monotonic())
