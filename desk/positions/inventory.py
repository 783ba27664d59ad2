"""Net inventory per base asset, kept in memory for pricing (inventory skew and limits).

Seeded at start-up from the ledger's booked fills and moved by every fill booked after, so
the quote path reads a dict instead of the database. The ledger stays the source of truth.

It is kept in two parts. Client fills move the desk's part by deltas, on the thread that
booked them. Exchange fills arrive from the hedger as the *total* it has booked per asset:
the hedger may run in a process of its own, and a total, unlike a delta, can be repeated
or replaced by a newer one (a restarted hedger reads its totals from the ledger) without
counting anything twice.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal

from desk.domain.side import Side

_ZERO = Decimal(0)


def desk_delta(client_side: Side, qty: Decimal) -> Decimal:
    """How a client fill moves the desk's base position: a client buy makes the desk short."""
    return -qty if client_side is Side.BUY else qty


class Inventory:
    """The desk's signed net position per base asset (positive = long)."""

    def __init__(
        self,
        client: Mapping[str, Decimal] | None = None,
        hedged: Mapping[str, Decimal] | None = None,
    ) -> None:
        """``client``: net of the client fills per asset; ``hedged``: of the exchange fills."""
        self._client: dict[str, Decimal] = dict(client or {})
        self._hedged: dict[str, Decimal] = dict(hedged or {})
        self._lock = threading.Lock()

    def net(self, asset: str) -> Decimal:
        with self._lock:
            return self._net(asset)

    def apply(self, asset: str, delta: Decimal) -> Decimal:
        """Move ``asset`` by a client fill's ``delta``; returns the new net position."""
        with self._lock:
            self._client[asset] = self._client.get(asset, _ZERO) + delta
            return self._net(asset)

    def set_hedged(self, asset: str, total: Decimal) -> Decimal:
        """The exchange fills booked in ``asset`` now net to ``total``; returns the new net."""
        with self._lock:
            self._hedged[asset] = total
            return self._net(asset)

    def snapshot(self) -> dict[str, Decimal]:
        with self._lock:
            return {asset: self._net(asset) for asset in self._client.keys() | self._hedged.keys()}

    def _net(self, asset: str) -> Decimal:
        return self._client.get(asset, _ZERO) + self._hedged.get(asset, _ZERO)
