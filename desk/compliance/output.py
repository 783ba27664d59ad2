"""Writing report rows as an aligned table, CSV (RFC 4180, for spreadsheets) or JSON.

Every format writes the same cells: decimals in plain notation (no exponent, no trailing
zeros), instants as ISO-8601 UTC with microseconds (``2026-01-05T12:00:00.123456Z``), dates
as ``YYYY-MM-DD``. NULL is an empty cell in the table and CSV, ``null`` in JSON; JSON keeps
integers as numbers and gives decimals as strings, so no reader turns them into floats.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TextIO

from desk.compliance.reports import NUMERIC_KINDS, Kind, Report
from desk.compliance.runner import Row

__all__ = ["FORMATS", "cell_text", "write_csv", "write_json", "write_table"]


def cell_text(value: object) -> str | None:
    """The text of one cell, or None for NULL."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        text = format(value, "f")
        return "0" if text == "-0" else text
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _texts(report: Report, row: Row) -> list[str | None]:
    return [cell_text(row[name]) for name in report.column_names]


def write_csv(report: Report, rows: Sequence[Row], out: TextIO) -> None:
    """A header row, then one line per row; CRLF line ends and quoting as RFC 4180 says."""
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(report.column_names)
    for row in rows:
        writer.writerow(["" if t is None else t for t in _texts(report, row)])


def write_json(report: Report, rows: Sequence[Row], out: TextIO) -> None:
    """An array of objects, one per row, keys in column order."""
    objects = [
        {
            name: row[name] if kind is Kind.INT else cell_text(row[name])
            for name, kind in report.columns
        }
        for row in rows
    ]
    json.dump(objects, out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_table(report: Report, rows: Sequence[Row], out: TextIO) -> None:
    """Columns aligned (numbers to the right), then the number of rows."""
    lines = [
        list(report.column_names),
        *(["" if t is None else t for t in _texts(report, row)] for row in rows),
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(report.columns))]
    right = [kind in NUMERIC_KINDS for _, kind in report.columns]
    for n, line in enumerate(lines):
        cells = [
            cell.rjust(width) if right[i] and n > 0 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")


FORMATS = {"table": write_table, "csv": write_csv, "json": write_json}
