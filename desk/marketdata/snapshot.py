"""The in-memory snapshot of every venue's book: the only market data the quote path reads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

Level = tuple[Decimal, Decimal]
BookSource = Literal["stream", "poll"]


@dataclass(frozen=True, slots=True)
class VenueBook:
    """One venue's book for one symbol, best levels first.

    ``changed_mono`` is when the venue's book last *changed* (its update id moved), not when
    it was last fetched: a venue that answers with the same frozen book is stale all the same.
    ``source`` says whether it came from the venue's depth stream or a REST poll.
    """

    venue: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    update_id: int | None
    received_at: datetime
    changed_mono: float
    source: BookSource = "poll"

    @property
    def best_bid(self) -> Decimal:
        return self.bids[0][0]

    @property
    def best_ask(self) -> Decimal:
        return self.asks[0][0]

    @property
    def mid(self) -> Decimal:
        return (self.best_bid + self.best_ask) / 2

    @property
    def crossed(self) -> bool:
        return self.best_bid >= self.best_ask


class BookSink(Protocol):
    """Where a feed puts each book it fetches: the snapshot itself, or a pipe to it."""

    def update(self, book: VenueBook, now_mono: float) -> object: ...


class MarketSnapshot:
    """Latest book per (venue, symbol); written by the market-data loop, read by pricing."""

    def __init__(self) -> None:
        self._by_symbol: dict[str, dict[str, VenueBook]] = {}
        self._lock = threading.Lock()

    def update(self, book: VenueBook, now_mono: float) -> VenueBook:
        """Store a freshly fetched book, keeping the old change time if nothing moved."""
        with self._lock:
            venues = self._by_symbol.setdefault(book.symbol, {})
            previous = venues.get(book.venue)
            moved = (
                previous is None or book.update_id is None or previous.update_id != book.update_id
            )
            changed = now_mono if moved or previous is None else previous.changed_mono
            stored = replace(book, changed_mono=changed)
            venues[book.venue] = stored
            return stored

    def books_for(self, symbol: str) -> list[VenueBook]:
        """Every venue's latest book for ``symbol`` (fresh or not: pricing decides)."""
        with self._lock:
            return list(self._by_symbol.get(symbol, {}).values())

    def get(self, venue: str, symbol: str) -> VenueBook | None:
        with self._lock:
            return self._by_symbol.get(symbol, {}).get(venue)
