"""Credit line use per counterparty: gross notional traded in the current UTC day."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal


def start_of_day(moment: datetime) -> datetime:
    """Midnight UTC of ``moment``'s day: where a credit day starts."""
    return datetime.combine(moment.astimezone(UTC).date(), time(0), tzinfo=UTC)


class CreditLines:
    """In-memory usage, seeded from the ledger at start-up and reset at UTC midnight.

    Kept in memory so the RFQ path never reads the database; booking adds to it.
    """

    def __init__(self, seeded: Mapping[str, Decimal], seeded_at: datetime) -> None:
        self._day = seeded_at.astimezone(UTC).date()
        self._usage: dict[str, Decimal] = dict(seeded)
        self._lock = threading.Lock()

    def _roll(self, now: datetime) -> None:
        today = now.astimezone(UTC).date()
        # Forward only: a request stamped just before midnight and checked just after must
        # not wipe the new day's usage.
        if today > self._day:
            self._day = today
            self._usage.clear()

    def used(self, counterparty: str, now: datetime) -> Decimal:
        with self._lock:
            self._roll(now)
            return self._usage.get(counterparty, Decimal(0))

    def add(self, counterparty: str, notional: Decimal, at: datetime) -> date:
        """Count ``notional`` as used; the day it is counted in (for ``release``)."""
        with self._lock:
            self._roll(at)
            self._usage[counterparty] = self._usage.get(counterparty, Decimal(0)) + notional
            return self._day

    def release(self, counterparty: str, notional: Decimal, day: date) -> None:
        """Give back what ``add`` counted in ``day`` for a trade that was never booked; a day
        that has ended took its usage with it."""
        with self._lock:
            if day == self._day:
                self._usage[counterparty] = self._usage.get(counterparty, Decimal(0)) - notional
