"""Core statements compiled once and run on the DBAPI cursor: the booking path's inner loop.

SQLAlchemy's ``Connection.execute`` costs tens of microseconds of Python per statement beyond
the database's own work (execution context, compiled-cache lookup, result wrapping), and for
a statement built of many CTEs the cache key alone is a walk of its whole tree on every call.
The SQLite booking is eight statements and PostgreSQL's one of ten CTEs, so that overhead was
a large part of each trade's CPU, held on the FIX thread. A ``RawStatement`` is the same Core
statement, compiled once for the dialect and one set of parameter names, with the columns'
own bind processors (so ``DecimalType`` and ``UtcDateTime`` still refuse float money and
naive times): executing it is one call into the driver. It runs inside the caller's
SQLAlchemy transaction, on that transaction's DBAPI connection.

A driver error is raised as SQLAlchemy's wrapper of it (``IntegrityError`` for a constraint),
exactly as ``Connection.execute`` raises it, so callers handle both paths alike, and the
engine's ``before_cursor_execute``/``after_cursor_execute`` listeners still see every
statement.
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
    """One INSERT (optionally with RETURNING, or a data-modifying WITH) for one positional
    dialect and one set of parameter names."""

    def __init__(self, statement: UpdateBase, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if not isinstance(compiled, SQLCompiler) or not compiled.positional:
            raise ValueError(f"{dialect.name}: a positional SQL compiler is needed")
        self.sql = compiled.string
        names = tuple(compiled.positiontup or ())
        binds = compiled.binds
        # A bound literal (``literal(...)``) carries its value: it is a constant here.
        self._constants = {
            name: binds[name].effective_value
            for name in names
            if name not in keys and not binds[name].required
        }
        missing = set(names) - set(keys) - set(self._constants)
        if missing:
            raise ValueError(f"statement needs parameters {sorted(missing)} not in {keys}")
        self._names = names
        self._processors: tuple[Callable[[Any], Any] | None, ...] = tuple(
            binds[name].type.bind_processor(dialect) for name in names
        )

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """``values`` in the statement's order, through the columns' bind processors."""
        if self._constants:
            values = {**self._constants, **values}
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in zip(self._names, self._processors, strict=True)
        )

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Run once in ``conn``'s transaction; the first column of the first row returned
        (RETURNING), or None."""
        params = self.parameters(values)
        with self._cursor(conn, params, many=False) as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone() if cursor.description else None
        return None if row is None else row[0]

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row of ``rows`` in ``conn``'s transaction (no RETURNING)."""
        params = [self.parameters(values) for values in rows]
        with self._cursor(conn, params, many=True) as cursor:
            cursor.executemany(self.sql, params)

    @contextmanager
    def _cursor(self, conn: Connection, params: Any, *, many: bool) -> Iterator[Any]:
        """A cursor of ``conn``'s DBAPI connection. Cursor-execute listeners still see the
        statement (without an execution context); a driver error comes out as SQLAlchemy's."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        dispatch = conn.dispatch
        for listener in dispatch.before_cursor_execute:
            listener(conn, cursor, self.sql, params, None, many)
        dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
        try:
            yield cursor
        except dbapi_error as exc:
            raise DBAPIError.instance(self.sql, params, exc, dbapi_error, ismulti=many) from exc
        finally:
            cursor.close()
        for listener in dispatch.after_cursor_execute:
            listener(conn, cursor, self.sql, params, None, many)


# Statements are module constants, so this holds a handful of entries.
_compiled: dict[tuple[UpdateBase, str, frozenset[str]], RawStatement] = {}


_positional_dialects: dict[type[Dialect], Dialect] = {}


def _positional(dialect: Dialect) -> Dialect:
    """``dialect``, or its driver's positional variant: psycopg takes ``%s`` as well as the
    ``%(name)s`` SQLAlchemy uses, and positional parameters need no mapping per call."""
    if dialect.positional:
        return dialect
    found = _positional_dialects.get(type(dialect))
    if found is None:
        variant: Any = type(dialect)
        found = _positional_dialects[type(dialect)] = variant(paramstyle="format")
    return found


def _raw(conn: Connection, statement: UpdateBase, keys: Iterable[str]) -> RawStatement:
    names = frozenset(keys)
    key = (statement, conn.dialect.name, names)
    found = _compiled.get(key)
    if found is None:
        dialect = _positional(conn.dialect)
        found = _compiled[key] = RawStatement(statement, dialect, sorted(names))
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
