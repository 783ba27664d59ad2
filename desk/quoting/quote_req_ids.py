"""The day's QuoteReqIDs per counterparty, in memory allocated once: :class:`QuoteReqIdRegistry`.

ROE: a QuoteReqID is unique per session per day, so the desk remembers every one it answered
until the UTC day ends. Kept as Python strings in sets, that memory grew with every RFQ (about
80 bytes an id: 1.85 MB for 24 000 in a probe). Here each (counterparty, QuoteReqID) is kept
as its 16-byte BLAKE2b digest in an open-addressing table (linear probing) that is allocated
and zero-filled when the registry is made, so its pages are resident from the start and the
process does not grow as the day's RFQs arrive.

Two different ids are told apart unless their 128-bit digests collide: at a million ids in a
day the chance of any collision is about 10^-27. The table holds ``capacity`` digests; past
three quarters full, a table of twice its size is added for the ids that follow (logged as
``rfq.quote_req_ids.grown``) and a lookup probes each table: nothing is rehashed, so no RFQ
waits for the whole day's ids to move. At the next day it starts again with one table of its
first size.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime

import structlog

__all__ = ["DEFAULT_CAPACITY", "QuoteReqIdRegistry"]

log = structlog.get_logger("desk.rfq")

# 2^20 slots of 16 bytes: 16 MiB, room for 786 432 ids before the first doubling.
DEFAULT_CAPACITY = 1 << 20
_DIGEST = 16
_EMPTY = bytes(_DIGEST)
# The one digest that would read as an empty slot is stored as this instead (it cannot be
# told from this value's own digest, a 2^-128 event).
_ZERO_STANDIN = b"\x01" + bytes(_DIGEST - 1)


def _digest(counterparty: str, quote_req_id: str) -> bytes:
    """The table's key: the counterparty is length-prefixed, so no two pairs share an input."""
    cp = counterparty.encode()
    data = len(cp).to_bytes(4, "little") + cp + quote_req_id.encode()
    key = hashlib.blake2b(data, digest_size=_DIGEST).digest()
    return _ZERO_STANDIN if key == _EMPTY else key


class _DigestTable:
    """A set of 16-byte digests in one ``bytearray`` (a power-of-two number of slots)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 8 or capacity & (capacity - 1):
            raise ValueError(f"capacity must be a power of two of at least 8, not {capacity}")
        self.capacity = capacity
        self.count = 0
        self._mask = capacity - 1
        self._limit = capacity * 3 // 4
        # bytearray(n) is zero-filled when it is made: every page is touched now, not later.
        self._slots = bytearray(capacity * _DIGEST)

    @property
    def full(self) -> bool:
        return self.count >= self._limit

    def add(self, key: bytes) -> bool:
        """Store ``key``; False if it was there already."""
        start = self._find(key)
        if self._slots[start : start + _DIGEST] == key:
            return False
        self._slots[start : start + _DIGEST] = key
        self.count += 1
        return True

    def __contains__(self, key: bytes) -> bool:
        start = self._find(key)
        return self._slots[start : start + _DIGEST] == key

    def _find(self, key: bytes) -> int:
        """The offset of ``key``'s slot, or of the empty slot where it would go."""
        slots, mask = self._slots, self._mask
        index = int.from_bytes(key[:8], "little") & mask
        while True:
            start = index * _DIGEST
            held = slots[start : start + _DIGEST]
            if held in (key, _EMPTY):
                return start
            index = (index + 1) & mask


class QuoteReqIdRegistry:
    """QuoteReqIDs seen per counterparty in the current UTC day. Thread-safe."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._day: date | None = None
        # Tables filled before the newest one, oldest first; only the newest takes new ids.
        self._full: list[_DigestTable] = []
        self._newest = _DigestTable(capacity)
        self._lock = threading.Lock()

    def restore(self, now: datetime, used: Mapping[str, Iterable[str]]) -> None:
        """Count ``used`` (QuoteReqIDs by counterparty, from the audit trail) as taken on
        ``now``'s day: after a restart a repeat is refused as it was before."""
        with self._lock:
            self._roll(now)
            for counterparty, ids in used.items():
                for quote_req_id in ids:
                    self._add(_digest(counterparty, quote_req_id))

    def first_use(self, counterparty: str, quote_req_id: str, now: datetime) -> bool:
        """Record ``quote_req_id`` for ``counterparty``; False if it was used today already."""
        key = _digest(counterparty, quote_req_id)
        with self._lock:
            self._roll(now)
            return self._add(key)

    def __len__(self) -> int:
        """How many ids the current day holds."""
        return self._newest.count + sum(table.count for table in self._full)

    def _roll(self, now: datetime) -> None:
        # Forward only, as for credit: a late request from yesterday keeps today's ids.
        today = now.astimezone(UTC).date()
        if self._day is None or today > self._day:
            if self._day is not None:
                self._full = []
                self._newest = _DigestTable(self._capacity)
            self._day = today

    def _add(self, key: bytes) -> bool:
        if any(key in table for table in self._full):
            return False
        if not self._newest.add(key):
            return False
        if self._newest.full:
            self._full.append(self._newest)
            self._newest = _DigestTable(self._newest.capacity * 2)
            tables = [*self._full, self._newest]
            log.warning(
                "rfq.quote_req_ids.grown",
                ids=len(self),
                tables=len(tables),
                capacity=sum(table.capacity for table in tables),
                mib=sum(table.capacity for table in tables) * _DIGEST // (1 << 20),
            )
        return True
