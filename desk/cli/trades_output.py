"""Rendering the trade log as an aligned table or CSV."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TextIO

from desk.domain.money import fmt
from desk.ledger.records import TradeLogRow

COLUMNS = (
    "trade_id",
    "executed_at",
    "counterparty",
    "symbol",
    "side",
    "qty",
    "price",
    "notional",
    "quote_id",
    "cl_ord_id",
    "exec_id",
)


def _cells(row: TradeLogRow) -> list[str]:
    return [
        str(row.trade_id),
        row.executed_at.isoformat(timespec="milliseconds"),
        row.counterparty,
        row.symbol,
        row.side.value,
        fmt(row.qty),
        fmt(row.price),
        fmt(row.notional),
        row.quote_id,
        row.cl_ord_id,
        row.exec_id,
    ]


def write_csv(rows: Sequence[TradeLogRow], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(_cells(row))


def write_table(rows: Sequence[TradeLogRow], out: TextIO) -> None:
    table = [list(COLUMNS), *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    numeric = {0, 5, 6, 7}
    for n, line in enumerate(table):
        cells = [
            c.rjust(w) if i in numeric and n > 0 else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    out.write(f"({len(rows)} trade{'s' if len(rows) != 1 else ''})\n")
