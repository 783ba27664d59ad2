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
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

__all__ = ["RawStatement", "execute_raw", "execute_raw_many", "first_row_raw"]


class RawStatement:
    """One statement (an INSERT, optionally with RETURNING, a data-modifying WITH, or a
    ``text()``) for one positional dialect and one set of parameter names.

    ``result_types``: the types of the columns it returns, whose result processors
    ``first_row`` applies (``DecimalType``'s canonical form, for one).
    """

    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        keys: Sequence[str],
        result_types: Sequence[TypeEngine[Any]] = (),
    ) -> None:
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
        self._result_processors: tuple[Callable[[Any], Any] | None, ...] = tuple(
            t.result_processor(dialect, None) for t in result_types
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
        row = self._first(conn, values)
        return None if row is None else row[0]

    def first_row(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run once in ``conn``'s transaction; the first row returned, its columns through
        the result processors of ``result_types``, or None if no row came back."""
        row = self._first(conn, values)
        if row is None:
            return None
        if len(row) != len(self._result_processors):
            raise ValueError(f"{len(row)} columns returned, {len(self._result_processors)} typed")
        return tuple(
            value if process is None else process(value)
            for value, process in zip(row, self._result_processors, strict=True)
        )

    def _first(self, conn: Connection, values: Mapping[str, Any]) -> Sequence[Any] | None:
        params = self.parameters(values)
        with self._cursor(conn, params, many=False) as cursor:
            cursor.execute(self.sql, params)
            row: Sequence[Any] | None = cursor.fetchone() if cursor.description else None
        return row

    def execute_many_returning(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]]
    ) -> list[Any]:
        """Run once per row of ``rows`` in ``conn``'s transaction; the first column each run
        returned (None where it returned no row), in order. On PostgreSQL all runs are sent
        before the first result is read (psycopg's pipeline): one round trip, not one each."""
        if conn.dialect.name != "postgresql":
            return [self.execute(conn, values) for values in rows]
        params = [self.parameters(values) for values in rows]
        firsts: list[Any] = []
        with self._cursor(conn, params, many=True) as cursor:
            cursor.executemany(self.sql, params, returning=True)
            while True:
                row = cursor.fetchone()
                firsts.append(None if row is None else row[0])
                if not cursor.nextset():
                    break
        if len(firsts) != len(rows):
            raise ValueError(f"{len(firsts)} results for {len(rows)} runs")
        return firsts

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


# Statements are module constants, so this holds a handful of entries. A statement is compiled
# once, with the result types of its first use.
_compiled: dict[tuple[ClauseElement, str, frozenset[str]], RawStatement] = {}


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


def _raw(
    conn: Connection,
    statement: ClauseElement,
    keys: Iterable[str],
    result_types: Sequence[TypeEngine[Any]] = (),
) -> RawStatement:
    names = frozenset(keys)
    key = (statement, conn.dialect.name, names)
    found = _compiled.get(key)
    if found is None:
        dialect = _positional(conn.dialect)
        found = _compiled[key] = RawStatement(statement, dialect, sorted(names), result_types)
    return found


def execute_raw(conn: Connection, statement: ClauseElement, values: Mapping[str, Any]) -> Any:
    """``statement`` with ``values`` as a ``RawStatement`` in ``conn``'s transaction; the
    first column of the first row returned, or None."""
    return _raw(conn, statement, values).execute(conn, values)


def execute_raw_many(
    conn: Connection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """``statement`` once per row (every row with the same keys) in ``conn``'s transaction."""
    if rows:
        _raw(conn, statement, rows[0]).execute_many(conn, rows)


def execute_raw_many_returning(
    conn: Connection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """``statement`` once per row (every row with the same keys) in ``conn``'s transaction, on
    PostgreSQL all sent at once; the first column each run returned, in order."""
    if not rows:
        return []
    return _raw(conn, statement, rows[0]).execute_many_returning(conn, rows)


def first_row_raw(
    conn: Connection,
    statement: ClauseElement,
    values: Mapping[str, Any],
    result_types: Sequence[TypeEngine[Any]],
) -> tuple[Any, ...] | None:
    """``statement``'s first row as a ``RawStatement`` in ``conn``'s transaction, its columns
    processed as ``result_types`` say; None if it returned no row."""
    return _raw(conn, statement, values, result_types).first_row(conn, values)
