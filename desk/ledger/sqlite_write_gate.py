"""In-process writers of one SQLite file queue on a Python lock, not on SQLite's busy handler.

SQLite has one write lock per file. A writer that finds it taken is put to sleep by SQLite's
busy handler in growing steps (1, 2, 5, 10 ms …), so a client's fill arriving while the
hedger or the audit writer commits would wait milliseconds for a lock held for a fraction of
one. Writers in this process therefore take this gate first: before the first write
statement of a transaction, held until that transaction commits or rolls back, and handed to
the next waiter the moment it is released. Other processes (the CLI) still meet SQLite's own
lock and its busy timeout.

The gate lives in a ``sqlite3.Connection`` subclass (``sqlite3.connect(factory=…)``), because
only the driver sees the end of a commit: SQLAlchemy's ``commit`` event fires before it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from typing import Any, Self

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


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

    gate: threading.RLock  # set on the per-engine subclass by gated_connection_factory

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


def gated_connection_factory() -> type[GatedConnection]:
    """A connection class with its own gate: one per engine, i.e. per database file."""
    return type("GatedConnection", (GatedConnection,), {"gate": threading.RLock()})
