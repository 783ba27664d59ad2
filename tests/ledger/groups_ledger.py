"""A real ledger that notes the groups it books and can be held before booking one."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from desk.ledger.database import make_engine
from desk.ledger.records import FillBooking, OrderRecord
from desk.ledger.repository import Ledger

WAIT_S = 10


class GroupsLedger(Ledger):
    """The real ledger, noting the size of every group it is asked to book; ``hold`` keeps
    the next group from being booked until ``release``."""

    def __init__(self, url: str) -> None:
        super().__init__(make_engine(url))
        self.groups: list[int] = []
        self.threads: list[str] = []
        self.holding = threading.Event()
        self._release = threading.Event()
        self._release.set()

    def hold(self) -> None:
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def book_fills(self, bookings: Sequence[FillBooking]) -> list[OrderRecord | Exception]:
        self.groups.append(len(bookings))
        self.threads.append(threading.current_thread().name)
        self.holding.set()
        assert self._release.wait(WAIT_S)
        return super().book_fills(bookings)
