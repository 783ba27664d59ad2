"""Running a compliance report on the ledger database (PostgreSQL or SQLite) through SQLAlchemy.

The query comes from the report's psql file (``sql_file``); its variables are bound with the
ledger's own column types, so times and decimals reach each backend in the form its columns
hold them. Rows come back as exact Python values whatever the backend: ``Decimal`` (canonical),
aware UTC ``datetime``, ``date``, ``int`` or ``str``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Integer, String, bindparam, event, text
from sqlalchemy.types import TypeEngine

from desk.compliance.reports import Kind, Report
from desk.compliance.sql_file import load_query
from desk.compliance.sqlite_exact import register_exact_functions
from desk.ledger.column_types import DecimalType, UtcDateTime, canonical_decimal
from desk.ledger.database import make_engine

__all__ = ["ReportError", "Row", "cell_value", "report_engine", "run_report"]

Row = dict[str, Any]

_BIND_TYPES: dict[str | None, TypeEngine[Any]] = {
    None: String(),
    "timestamptz": UtcDateTime(),
    "numeric": DecimalType(),
    "integer": Integer(),
}


class ReportError(ValueError):
    """A report that cannot run as asked (missing parameter, file and columns disagree)."""


def report_engine(url: str) -> Engine:
    """An engine for reports: the ledger's, plus exact decimals on SQLite connections."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _exact(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            register_exact_functions(dbapi_connection)

    return engine


def run_report(url: str, report: Report, values: Mapping[str, object]) -> list[Row]:
    """The rows of ``report`` on the database at ``url``; ``values`` by variable name.

    Optional variables left out are bound as ``''`` (what the psql files default them to).
    """
    query = load_query(report.path)
    if set(query.variables) != report.variables:
        raise ReportError(
            f"{report.path} uses {sorted(query.variables)}, the report declares "
            f"{sorted(report.variables)}"
        )
    missing = sorted(report.required - {k for k, v in values.items() if v is not None})
    if missing:
        raise ReportError(f"{report.name} needs {', '.join(missing)}")
    params = {name: "" if values.get(name) is None else values[name] for name in query.variables}
    engine = report_engine(url)
    try:
        statement = text(query.render(engine.dialect.name)).bindparams(
            *(bindparam(name, type_=_BIND_TYPES[cast]) for name, cast in query.variables.items())
        )
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")  # a report never writes
            result = conn.execute(statement, params)
            names = tuple(result.keys())
            raw = result.all()
    finally:
        engine.dispose()
    if names != report.column_names:
        raise ReportError(
            f"{report.path} returns columns {list(names)}, expected {list(report.column_names)}"
        )
    return [
        {
            name: cell_value(kind, cell)
            for (name, kind), cell in zip(report.columns, row, strict=True)
        }
        for row in raw
    ]


def cell_value(kind: Kind, cell: Any) -> Any:
    """One cell as its exact Python value (SQLite hands back text where PostgreSQL types)."""
    if cell is None:
        return None
    if kind is Kind.DECIMAL:
        if isinstance(cell, float):
            raise ReportError(f"inexact decimal from the database: {cell!r}")
        return canonical_decimal(Decimal(cell))
    if kind is Kind.TIME:
        instant = cell if isinstance(cell, datetime) else datetime.fromisoformat(cell)
        return instant.astimezone(UTC)
    if kind is Kind.DATE:
        return cell if isinstance(cell, date) else date.fromisoformat(cell)
    if kind is Kind.INT:
        return int(cell)
    return str(cell)
