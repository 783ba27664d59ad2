"""Binance diff-depth events built from a run of book updates.

A ``depthUpdate`` covering update ids ``U``..``u`` lists, per side, every price that any of
those updates touched, with its quantity after ``u`` (0 when the level is gone), as Binance
does. That makes the event correct for a client holding the book at *any* id from ``U - 1``
to ``u`` (a REST snapshot usually falls inside an event's range): a level that appeared and
vanished again inside the range is still sent, with quantity 0. Events span the whole book,
not only the top levels, so a snapshot plus the events rebuilds the venue's book exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from exchange_sim.binance_api import wire_levels
from exchange_sim.book import BookUpdate, PriceLevel
from exchange_sim.config import SimSymbolConfig


def touched_levels(
    prices: frozenset[Decimal], current: tuple[PriceLevel, ...], *, descending: bool
) -> tuple[PriceLevel, ...]:
    """``prices`` with their current quantity (0 if gone), best first (bids descending)."""
    qty = {lv.price: lv.qty for lv in current}
    levels = (PriceLevel(p, qty.get(p, Decimal(0))) for p in prices)
    return tuple(sorted(levels, key=lambda lv: lv.price, reverse=descending))


def depth_update(
    updates: Sequence[BookUpdate],
    cfg: SimSymbolConfig,
    *,
    first_update_id: int,
    event_time_ms: int,
) -> dict[str, Any]:
    """The ``depthUpdate`` event for ``updates`` (consecutive, oldest first, not empty).

    ``first_update_id`` is ``U``: the first update's id, unless the caller announces a gap.
    """
    current = updates[-1].snapshot
    bids = frozenset().union(*(u.changed_bids for u in updates))
    asks = frozenset().union(*(u.changed_asks for u in updates))
    return {
        "e": "depthUpdate",
        "E": event_time_ms,
        "s": cfg.binance_id,
        "U": first_update_id,
        "u": current.last_update_id,
        "b": wire_levels(touched_levels(bids, current.bids, descending=True), cfg),
        "a": wire_levels(touched_levels(asks, current.asks, descending=False), cfg),
    }
