"""Writers of one SQLite file queue on a gate that wakes the next one at once, not on SQLite's
busy handler.

SQLite has one write lock per file. A writer that finds it taken is put to sleep by SQLite's
busy handler in growing steps (1, 2, 5, 10 ms …), so a client's fill arriving while the
hedger or the audit writer commits would wait milliseconds for a lock held for a fraction of
one. Writers therefore take this gate first: before the first write statement of a
transaction, held until that transaction commits or rolls back, and handed to the next
waiter the moment it is released.

The gate is one per database file and process (``write_gate``): a reentrant lock for the
threads of this process, and an exclusive ``flock`` on ``<file>-write.lock`` for the other
processes that write the file (the desk's audit writer and hedger processes, the CLI). A
process that finds the file locked tries again after 50 µs, doubling up to 200 µs, so it is
in within 0.2 ms of the release (with the hedger in its own process, a client's booking
waits for its writes this way); after ``FILE_LOCK_TIMEOUT_S`` (SQLite's busy timeout) it gives
up with "database is locked", as SQLite would, rather than hang behind a stuck process.
SQLite's own busy handler remains only for a writer that does not take the gate.

The gate lives in a ``sqlite3.Connection`` subclass (``sqlite3.connect(factory=…)``), because
only the driver sees the end of a commit: SQLAlchemy's ``commit`` event fires before it.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
LOCK_SUFFIX = "-write.lock"
FILE_LOCK_TIMEOUT_S = 5.0  # as PRAGMA busy_timeout=5000 (desk.ledger.database)
_FIRST_RETRY_S = 0.00005
# 1 ms before the hedger had a process of its own; 0.2 ms took 0.4 to 2.1 ms off the SQLite
# Accept→Fill p99 in three interleaved pairs of closed-loop fill runs.
_LONGEST_RETRY_S = 0.0002


class GateTimeout(sqlite3.OperationalError):
    """Another process held the file's write gate for longer than the timeout."""


class WriteGate:
    """Exclusive, reentrant for the thread that holds it, and held across processes when it
    has a lock file: the lock file's ``flock`` is taken by the outermost ``acquire`` only."""

    def __init__(self, lock_path: Path | None, timeout_s: float = FILE_LOCK_TIMEOUT_S) -> None:
        self.lock_path = lock_path
        self._timeout_s = timeout_s
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._fd_pid = 0

    def acquire(self, blocking: bool = True) -> bool:
        if not self._threads.acquire(blocking):
            return False
        if self._depth == 0 and self.lock_path is not None:
            try:
                locked = self._lock_file(blocking)
            except BaseException:
                self._threads.release()
                raise
            if not locked:
                self._threads.release()
                return False
        self._depth += 1
        return True

    def release(self) -> None:
        if self._depth == 1 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._depth -= 1
        self._threads.release()

    def _lock_file(self, blocking: bool) -> bool:
        assert self.lock_path is not None  # noqa: S101 - checked by the caller
        if self._fd is None or self._fd_pid != os.getpid():
            # A forked child shares its parent's open file, and with it the parent's flock:
            # it opens its own. CLOEXEC: a spawned program does not inherit it either.
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            self._fd, self._fd_pid = os.open(self.lock_path, flags, 0o600), os.getpid()
        deadline: float | None = None
        delay = _FIRST_RETRY_S
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not blocking:
                    return False
            else:
                return True
            now = time.monotonic()
            if deadline is None:
                deadline = now + self._timeout_s
            elif now >= deadline:
                raise GateTimeout(
                    f"database is locked: another process held {self.lock_path} for "
                    f"{self._timeout_s} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, _LONGEST_RETRY_S)


_gates: dict[Path, WriteGate] = {}
_gates_lock = threading.Lock()


def write_gate(database: Path | None) -> WriteGate:
    """The gate of the SQLite file ``database`` in this process (one per resolved path); a
    gate of its own, without a lock file, for an in-memory database (``None``)."""
    if database is None:
        return WriteGate(None)
    path = database.expanduser().resolve()
    with _gates_lock:
        gate = _gates.get(path)
        if gate is None:
            gate = _gates[path] = WriteGate(path.with_name(path.name + LOCK_SUFFIX))
        return gate


def _is_write(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_WRITES)


class _GatedCursor(sqlite3.Cursor):
    """Takes its connection's gate before a write statement."""

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        if _is_write(sql):
            self._gated_connection().enter_gate()
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> Self:
        if _is_write(sql):
            self._gated_connection().enter_gate()
        return super().executemany(sql, seq_of_parameters)

    def _gated_connection(self) -> GatedConnection:
        connection = self.connection
        assert isinstance(connection, GatedConnection)  # noqa: S101 - made by its factory
        return connection


class GatedConnection(sqlite3.Connection):
    """A connection whose write transactions hold ``gate`` from first write to commit."""

    gate: WriteGate  # set on the per-file subclass by gated_connection_factory

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._holds_gate = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _GatedCursor)

    @property
    def holds_gate(self) -> bool:
        """Whether this connection's transaction holds the gate now."""
        return self._holds_gate

    def enter_gate(self) -> None:
        """Wait for the gate unless this connection's transaction already holds it."""
        if not self._holds_gate:
            self.gate.acquire()
            self._holds_gate = True

    def _leave_gate(self) -> None:
        if self._holds_gate:
            self._holds_gate = False
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_gate()


def gated_connection_factory(gate: WriteGate) -> type[GatedConnection]:
    """A connection class whose transactions take ``gate``."""
    return type("GatedConnection", (GatedConnection,), {"gate": gate})
