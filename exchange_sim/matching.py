"""Taker matching against a venue's simulated book, with the liquidity orders consumed.

The simulated book is regenerated on every walk step, so a taker order cannot remove
levels from it for good. Instead :class:`ConsumedLiquidity` remembers, per symbol, what
orders took from the levels of the current book (identified by its ``lastUpdateId``); a
second order against the same book sees what the first left. The next rebuild (a walk
step or an admin change) brings fresh levels and forgets the consumption, as if market
makers had refilled the book. A frozen book therefore stays consumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from exchange_sim.book import BookSnapshot, PriceLevel

_ZERO = Decimal(0)


class TakerSide(StrEnum):
    """Binance's order side; a BUY takes asks, a SELL takes bids."""

    BUY = "BUY"
    SELL = "SELL"


@dataclass(frozen=True, slots=True)
class Match:
    """One level's share of a taker order: price and quantity."""

    price: Decimal
    qty: Decimal


def _crosses(side: TakerSide, level_price: Decimal, limit: Decimal | None) -> bool:
    if limit is None:
        return True
    return level_price <= limit if side is TakerSide.BUY else level_price >= limit


def walk(
    levels: tuple[PriceLevel, ...], side: TakerSide, qty: Decimal, limit: Decimal | None
) -> list[Match]:
    """Fill up to ``qty`` from ``levels`` (best first) at prices no worse than ``limit``."""
    matches: list[Match] = []
    left = qty
    for level in levels:
        if left <= 0 or not _crosses(side, level.price, limit):
            break
        take = min(left, level.qty)
        if take > 0:
            matches.append(Match(level.price, take))
            left -= take
    return matches


class ConsumedLiquidity:
    """Per symbol, what taker orders took from the current book's levels."""

    def __init__(self) -> None:
        """Nothing consumed yet."""
        # symbol -> (lastUpdateId of the book consumed, {(side taken, price): qty taken})
        self._taken: dict[str, tuple[int, dict[tuple[TakerSide, Decimal], Decimal]]] = {}

    def _current(self, snap: BookSnapshot) -> dict[tuple[TakerSide, Decimal], Decimal]:
        entry = self._taken.get(snap.symbol)
        if entry is None or entry[0] != snap.last_update_id:
            entry = (snap.last_update_id, {})
            self._taken[snap.symbol] = entry
        return entry[1]

    def levels(self, snap: BookSnapshot, side: TakerSide) -> tuple[PriceLevel, ...]:
        """The levels a ``side`` taker can hit now: ``snap``'s minus what was taken."""
        taken = self._current(snap)
        book_side = snap.asks if side is TakerSide.BUY else snap.bids
        left = (
            PriceLevel(lv.price, lv.qty - taken.get((side, lv.price), _ZERO)) for lv in book_side
        )
        return tuple(lv for lv in left if lv.qty > 0)

    def take(self, snap: BookSnapshot, side: TakerSide, matches: list[Match]) -> None:
        """Record ``matches`` (from :meth:`levels` of the same ``snap``) as consumed."""
        taken = self._current(snap)
        for match in matches:
            key = (side, match.price)
            taken[key] = taken.get(key, _ZERO) + match.qty
