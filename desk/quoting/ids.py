"""Identifiers that are unique across restarts: a boot epoch from the ledger plus a counter."""

from __future__ import annotations

import itertools
import threading


class IdFactory:
    """Makes QuoteIDs, OrderIDs and ExecIDs as ``<prefix><boot epoch>-<n>``.

    The boot epoch comes from the ledger's never-reused ``desk_boots`` id, so a restart (or a
    second desk process on the same database) can never produce an id seen before, and no
    disk write is needed per id.
    """

    def __init__(self, boot_epoch: int) -> None:
        if boot_epoch <= 0:
            raise ValueError(f"boot epoch must be positive, got {boot_epoch}")
        self.boot_epoch = boot_epoch
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _next(self, prefix: str) -> str:
        with self._lock:
            n = next(self._counter)
        return f"{prefix}{self.boot_epoch}-{n}"

    def quote_id(self) -> str:
        return self._next("Q")

    def order_id(self) -> str:
        return self._next("O")

    def exec_id(self) -> str:
        return self._next("E")
