"""Where each venue's book for each symbol comes from right now, readable from any thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from desk.clock import Clock

FeedMode = Literal["starting", "streaming", "polling"]


@dataclass(frozen=True, slots=True)
class SymbolFeedStatus:
    """One venue/symbol: how its book arrives and since when.

    ``mode`` is ``starting`` until the first book or stream failure, then ``streaming``
    (depth stream) or ``polling`` (REST, because streaming is off or the stream is down);
    ``since`` is when the mode last changed; ``error`` is why the stream is down.
    """

    venue: str
    symbol: str
    mode: FeedMode
    since: datetime
    last_book_at: datetime | None = None
    update_id: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as ISO 8601 strings)."""
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "mode": self.mode,
            "since": self.since.isoformat(),
            "last_book_at": self.last_book_at.isoformat() if self.last_book_at else None,
            "update_id": self.update_id,
            "error": self.error,
        }


class FeedStatus:
    """Thread-safe board of :class:`SymbolFeedStatus`, written by the market-data loop."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], SymbolFeedStatus] = {}

    def set_mode(self, venue: str, symbol: str, mode: FeedMode, error: str | None = None) -> bool:
        """Record ``mode``; returns whether it changed (so callers log state changes only)."""
        with self._lock:
            current = self._by_key.get((venue, symbol))
            if current is not None and current.mode == mode:
                if current.error != error:
                    self._by_key[(venue, symbol)] = replace(current, error=error)
                return False
            base = current or SymbolFeedStatus(venue, symbol, mode, self._clock.now())
            self._by_key[(venue, symbol)] = replace(
                base, mode=mode, since=self._clock.now(), error=error
            )
            return True

    def book_seen(self, venue: str, symbol: str, update_id: int | None) -> None:
        """Note that a book for ``venue``/``symbol`` just arrived."""
        with self._lock:
            current = self._by_key.get((venue, symbol)) or SymbolFeedStatus(
                venue, symbol, "starting", self._clock.now()
            )
            self._by_key[(venue, symbol)] = replace(
                current, last_book_at=self._clock.now(), update_id=update_id
            )

    def get(self, venue: str, symbol: str) -> SymbolFeedStatus | None:
        """The status of one venue/symbol, if the feed has started it."""
        with self._lock:
            return self._by_key.get((venue, symbol))

    def snapshot(self) -> dict[str, dict[str, SymbolFeedStatus]]:
        """``{venue: {symbol: status}}``, a consistent copy."""
        with self._lock:
            result: dict[str, dict[str, SymbolFeedStatus]] = {}
            for (venue, symbol), status in sorted(self._by_key.items()):
                result.setdefault(venue, {})[symbol] = status
            return result
