"""The compliance reports: their names, files, parameters and typed columns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from desk.ledger.migrate import sql_dir

__all__ = ["REPORTS", "Kind", "Report", "compliance_dir"]


class Kind(StrEnum):
    """What a column holds, which decides how it is read from either backend and written."""

    INT = "int"
    TEXT = "text"
    DECIMAL = "decimal"
    TIME = "time"  # an instant, in UTC
    DATE = "date"


NUMERIC_KINDS = frozenset({Kind.INT, Kind.DECIMAL})


@dataclass(frozen=True, slots=True)
class Report:
    """One query of ``sql/compliance/``.

    ``required`` and ``optional`` are the psql variables of its file (``from``, ``to``,
    ``counterparty``, ``min_notional``, ``trade_id``); ``columns`` what each row holds, in
    the order the query returns them.
    """

    name: str
    file: str
    summary: str
    required: frozenset[str]
    optional: frozenset[str]
    columns: tuple[tuple[str, Kind], ...]

    @property
    def path(self) -> Path:
        """The SQL file."""
        return compliance_dir() / self.file

    @property
    def variables(self) -> frozenset[str]:
        """Every variable the file uses."""
        return self.required | self.optional

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def compliance_dir() -> Path:
    """``sql/compliance`` (moved along with ``$DESK_SQL_DIR``)."""
    return sql_dir() / "compliance"


_RANGE = frozenset({"from", "to"})
_BY_COUNTERPARTY = frozenset({"counterparty"})
_TRADE = "trade_id:int executed_at:time counterparty symbol side qty:decimal price:decimal "


def _columns(spec: str) -> tuple[tuple[str, Kind], ...]:
    """``"name:kind name ..."`` (a name alone is text) as (name, Kind) pairs, in order."""
    pairs = (word.partition(":") for word in spec.split())
    return tuple((name, Kind(kind or Kind.TEXT)) for name, _, kind in pairs)


REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            name="trade-log",
            file="trade_log.sql",
            summary="client trades executed in [from, to)",
            required=_RANGE,
            optional=_BY_COUNTERPARTY,
            columns=_columns(_TRADE + "notional:decimal quote_id cl_ord_id exec_id"),
        ),
        Report(
            name="rfq-outcomes",
            file="rfq_outcomes.sql",
            summary="per counterparty: requests, quotes, rejects by reason, orders, hit ratio",
            required=_RANGE,
            optional=_BY_COUNTERPARTY,
            columns=_columns(
                "counterparty reject_reason requests:int quotes:int rejects:int orders:int "
                "filled_orders:int rejected_orders:int hit_ratio:decimal"
            ),
        ),
        Report(
            name="daily-volume",
            file="daily_volume.sql",
            summary="per UTC day, counterparty and instrument: trades, base volume, notional",
            required=_RANGE,
            optional=_BY_COUNTERPARTY,
            columns=_columns(
                "trade_date:date counterparty symbol currency trades:int base_volume:decimal "
                "quote_notional:decimal"
            ),
        ),
        Report(
            name="exposure",
            file="exposure.sql",
            summary="as of --to, per counterparty: asset balances, unsettled, net positions",
            required=frozenset({"to"}),
            optional=_BY_COUNTERPARTY,
            columns=_columns("counterparty kind item net:decimal unsettled:decimal"),
        ),
        Report(
            name="large-trades",
            file="large_trades.sql",
            summary="client trades in [from, to) with notional >= --min-notional",
            required=_RANGE | {"min_notional"},
            optional=_BY_COUNTERPARTY,
            columns=_columns(_TRADE + "notional:decimal currency quote_id cl_ord_id exec_id"),
        ),
        Report(
            name="trade-life",
            file="trade_life.sql",
            summary="one trade from RFQ to hedge fills, as an ordered list of events",
            required=frozenset({"trade_id"}),
            optional=frozenset(),
            columns=_columns(
                "at:time event reference party side qty:decimal price:decimal fee:decimal "
                "status detail"
            ),
        ),
    )
}
