"""Core statements compiled once and run on the DBAPI cursor: the booking path's inner loop.

SQLAlchemy's ``Connection.execute`` costs tens of microseconds of Python per statement beyond
the database's own work (execution context, compiled-cache lookup, result wrapping). The
SQLite booking is eight statements, so that overhead was a large part of each trade's CPU,
held on the FIX thread. A ``RawStatement`` is the same Core statement, compiled once for the
dialect and one set of parameter names, with the columns' own bind processors (so
``DecimalType`` and ``UtcDateTime`` still refuse float money and naive times): executing it
is one call into the driver. It runs inside the caller's SQLAlchemy transaction, on that
transaction's DBAPI connection.

A driver error is raised as SQLAlchemy's wrapper of it (``IntegrityError`` for a constraint),
exactly as ``Connection.execute`` raises it, so callers handle both paths alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

__all__ = ["RawStatement", "execute_raw", "execute_raw_many"]


class RawStatement:
    """One INSERT (optionally with RETURNING) for one dialect and one set of parameter names."""

    def __init__(self, statement: UpdateBase, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if not isinstance(compiled, SQLCompiler) or not compiled.positional:
            raise ValueError(f"{dialect.name}: a positional SQL compiler is needed")
        self.sql = compiled.string
        names = tuple(compiled.positiontup or ())
        missing = set(names) - set(keys)
        if missing:
            raise ValueError(f"statement needs parameters {sorted(missing)} not in {keys}")
        self._names = names
        self._processors: tuple[Callable[[Any], Any] | None, ...] = tuple(
            compiled.binds[name].type.bind_processor(dialect) for name in names
        )
        self._dbapi_error = dialect.loaded_dbapi.Error

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """``values`` in the statement's order, through the columns' bind processors."""
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in zip(self._names, self._processors, strict=True)
        )

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Run once in ``conn``'s transaction; the first column of the first row returned
        (RETURNING), or None."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        params = self.parameters(values)
        with self._wrapped(params):
            cursor.execute(self.sql, params)
            row = cursor.fetchone() if cursor.description else None
        cursor.close()
        return None if row is None else row[0]

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row of ``rows`` in ``conn``'s transaction (no RETURNING)."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        params = [self.parameters(values) for values in rows]
        with self._wrapped(params):
            cursor.executemany(self.sql, params)
        cursor.close()

    @contextmanager
    def _wrapped(self, params: Any) -> Iterator[None]:
        try:
            yield
        except self._dbapi_error as exc:
            raise DBAPIError.instance(
                self.sql, params, exc, self._dbapi_error, ismulti=isinstance(params, list)
            ) from exc


# Statements are module constants, so this holds a handful of entries.
_compiled: dict[tuple[UpdateBase, str, frozenset[str]], RawStatement] = {}


def _raw(conn: Connection, statement: UpdateBase, keys: Iterable[str]) -> RawStatement:
    names = frozenset(keys)
    key = (statement, conn.dialect.name, names)
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = RawStatement(statement, conn.dialect, sorted(names))
    return found


def execute_raw(conn: Connection, statement: UpdateBase, values: Mapping[str, Any]) -> Any:
    """``statement`` with ``values`` as a ``RawStatement`` in ``conn``'s transaction; the
    first column of the first row returned, or None."""
    return _raw(conn, statement, values).execute(conn, values)


def execute_raw_many(
    conn: Connection, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> None:
    """``statement`` once per row (every row with the same keys) in ``conn``'s transaction."""
    if rows:
        _raw(conn, statement, rows[0]).execute_many(conn, rows)
