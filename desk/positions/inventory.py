"""Net inventory per base asset, kept in memory for pricing (inventory skew and limits).

Seeded at start-up from the ledger's booked trades and moved by every fill booked after, so
the quote path reads a dict instead of the database. The ledger stays the source of truth.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal

from desk.domain.side import Side


def desk_delta(client_side: Side, qty: Decimal) -> Decimal:
    """How a client fill moves the desk's base position: a client buy makes the desk short."""
    return -qty if client_side is Side.BUY else qty


class Inventory:
    """The desk's signed net position per base asset (positive = long)."""

    def __init__(self, initial: Mapping[str, Decimal] | None = None) -> None:
        self._net: dict[str, Decimal] = dict(initial or {})
        self._lock = threading.Lock()

    def net(self, asset: str) -> Decimal:
        with self._lock:
            return self._net.get(asset, Decimal(0))

    def apply(self, asset: str, delta: Decimal) -> Decimal:
        """Move ``asset`` by ``delta``; returns the new net position."""
        with self._lock:
            updated = self._net.get(asset, Decimal(0)) + delta
            self._net[asset] = updated
            return updated

    def snapshot(self) -> dict[str, Decimal]:
        with self._lock:
            return dict(self._net)
