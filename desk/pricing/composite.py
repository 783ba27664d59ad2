"""Composite of healthy venue books: weighted mid and consolidated depth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from desk.marketdata.snapshot import Level, VenueBook


@dataclass(frozen=True, slots=True)
class Composite:
    """Fair value and consolidated depth for one symbol at one instant."""

    symbol: str
    mid: Decimal
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    venues_used: tuple[str, ...]
    venues_excluded: Mapping[str, str]


class NoMarket(Exception):
    """Too few healthy venues to price; ``reason`` says why for the reject text."""

    def __init__(self, reason: str, excluded: Mapping[str, str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.excluded = excluded


def build_composite(
    symbol: str,
    books: Sequence[VenueBook],
    *,
    now_mono: float,
    stale_after_s: float,
    min_venues: int,
    weights: Mapping[str, Decimal],
) -> Composite:
    """Keep fresh, uncrossed, non-empty books and combine them; raise NoMarket otherwise."""
    healthy: list[VenueBook] = []
    excluded: dict[str, str] = {}
    for book in books:
        if book.venue not in weights:
            continue
        age = now_mono - book.changed_mono
        if not book.bids or not book.asks:
            excluded[book.venue] = "empty"
        elif age > stale_after_s:
            excluded[book.venue] = f"stale {age:.1f}s"
        elif book.crossed:
            excluded[book.venue] = "crossed"
        else:
            healthy.append(book)
    if len(healthy) < min_venues:
        detail = ", ".join(f"{v} {why}" for v, why in sorted(excluded.items())) or "no data"
        raise NoMarket(
            f"{len(healthy)} healthy venue(s) for {symbol}, need {min_venues} ({detail})", excluded
        )
    total_weight = sum((weights[b.venue] for b in healthy), Decimal(0))
    mid = sum((b.mid * weights[b.venue] for b in healthy), Decimal(0)) / total_weight
    bids = tuple(sorted((lvl for b in healthy for lvl in b.bids), key=lambda lvl: -lvl[0]))
    asks = tuple(sorted((lvl for b in healthy for lvl in b.asks), key=lambda lvl: lvl[0]))
    return Composite(
        symbol=symbol,
        mid=mid,
        bids=bids,
        asks=asks,
        venues_used=tuple(sorted(b.venue for b in healthy)),
        venues_excluded=excluded,
    )


def vwap(levels: Sequence[Level], qty: Decimal) -> Decimal | None:
    """Average price of taking ``qty`` from ``levels`` (best first); None if depth runs out."""
    remaining = qty
    cost = Decimal(0)
    for price, size in levels:
        take = min(size, remaining)
        cost += take * price
        remaining -= take
        if remaining <= 0:
            return cost / qty
    return None


def depth(levels: Sequence[Level]) -> Decimal:
    """Total size available on one side."""
    return sum((size for _, size in levels), Decimal(0))
