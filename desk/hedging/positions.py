"""What the hedger's exchange fills add up to, per base asset, and who is told of it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from decimal import Decimal

HedgedSink = Callable[[str, Decimal], None]
"""Told ``(asset, total)`` after each exchange fill is booked: the desk's ``Inventory``
(``set_hedged``) when the hedger runs in the desk, the pipe to it when in its own process."""


class HedgedPositions:
    """Net of the exchange fills booked per base asset, seeded from the ledger."""

    def __init__(self, totals: Mapping[str, Decimal], sink: HedgedSink) -> None:
        self._totals = dict(totals)
        self._sink = sink
        self._lock = threading.Lock()

    def apply(self, asset: str, delta: Decimal) -> Decimal:
        """An exchange fill moving ``asset`` by ``delta`` was booked: the new total, which
        the sink has been told."""
        with self._lock:
            total = self._totals.get(asset, Decimal(0)) + delta
            self._totals[asset] = total
        self._sink(asset, total)
        return total

    def totals(self) -> dict[str, Decimal]:
        with self._lock:
            return dict(self._totals)
