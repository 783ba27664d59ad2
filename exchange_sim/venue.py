"""One simulated venue's state: its books, the frozen/down flags and the update loop.

All mutation happens on the simulator's event loop (the update task and the admin
handlers both run there), so no locks are needed; readers get immutable snapshots.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from exchange_sim.book import BookSnapshot, SimOrderBook
from exchange_sim.config import SimVenueConfig

_log = structlog.get_logger(__name__)


class UnknownSymbolError(KeyError):
    """The venue does not list the requested symbol."""


class SimVenue:
    """A venue: one :class:`SimOrderBook` per configured symbol plus control flags."""

    def __init__(self, config: SimVenueConfig, reference_seed: int = 0) -> None:
        """Create every book from the venue's seed; books start unfrozen and up."""
        self._config = config
        self._books: dict[str, SimOrderBook] = {
            s.binance_id: SimOrderBook(s, seed=config.seed, reference_seed=reference_seed)
            for s in config.symbols
        }
        # Unified names ("BTC/USDT") resolve to the same books as exchange ids.
        self._aliases = {s.symbol: s.binance_id for s in config.symbols}
        self.frozen = False
        self.down = False

    @property
    def name(self) -> str:
        """The venue's configured name, e.g. ``sim-a``."""
        return self._config.name

    @property
    def config(self) -> SimVenueConfig:
        """The venue's configuration."""
        return self._config

    def books(self) -> list[SimOrderBook]:
        """Every book, in configuration order."""
        return list(self._books.values())

    def book(self, symbol: str) -> SimOrderBook:
        """The book for ``symbol`` given as ``BTCUSDT`` or ``BTC/USDT``.

        Raises :class:`UnknownSymbolError` when the venue does not list it.
        """
        key = self._aliases.get(symbol, symbol)
        try:
            return self._books[key]
        except KeyError:
            raise UnknownSymbolError(symbol) from None

    def has_exchange_id(self, symbol_id: str) -> bool:
        """Whether ``symbol_id`` (exchange form only, as Binance's REST API wants) exists."""
        return symbol_id in self._books

    def snapshot(self, symbol: str) -> BookSnapshot:
        """Current snapshot of ``symbol``'s book (either symbol form)."""
        return self.book(symbol).snapshot()

    def step_all(self) -> None:
        """Advance every book by one step unless the venue is frozen."""
        if self.frozen:
            return
        for book in self._books.values():
            book.step()

    async def run_updates(self) -> None:
        """Step the books every ``update_interval_ms`` until cancelled."""
        interval = self._config.update_interval_ms / 1000
        loop = asyncio.get_running_loop()
        next_at = loop.time() + interval
        while True:
            # Sleeping until an absolute deadline keeps the update rate steady even
            # when a step or a burst of requests takes a while.
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at + interval, loop.time())
            try:
                self.step_all()
            except Exception:
                # A bad step must not kill the venue's market data for the whole run.
                _log.exception("sim.venue.step_failed", venue=self.name)

    def state(self) -> dict[str, Any]:
        """JSON-ready state for ``GET /admin/state``."""
        symbols: dict[str, Any] = {}
        for book in self._books.values():
            snap = book.snapshot()
            symbols[book.config.symbol] = {
                "id": book.config.binance_id,
                "mid": format(snap.mid, "f"),
                "lastUpdateId": snap.last_update_id,
                "bestBid": format(snap.bids[0].price, "f") if snap.bids else None,
                "bestAsk": format(snap.asks[0].price, "f") if snap.asks else None,
                "volatilityBps": format(book.volatility_bps, "f"),
                "offsetBps": format(book.offset_bps, "f"),
                "crossed": book.crossed,
                "depthFactor": format(book.depth_factor, "f"),
            }
        return {
            "venue": self.name,
            "frozen": self.frozen,
            "down": self.down,
            "updateIntervalMs": self._config.update_interval_ms,
            "serverTime": server_time_ms(),
            "symbols": symbols,
        }


def server_time_ms() -> int:
    """Wall-clock time in epoch milliseconds, as Binance's ``serverTime`` reports it."""
    return time.time_ns() // 1_000_000
