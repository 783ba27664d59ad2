"""``otc-desk report``: run a compliance query of ``sql/compliance/`` on the ledger.

    otc-desk report <name> --from 2026-01-01 --to 2026-02-01 [--counterparty ACME]
                    [--format table|csv|json]
    otc-desk report large-trades --from ... --to ... --min-notional 1000000
    otc-desk report exposure --to 2026-02-01
    otc-desk report trade-life --trade-id 42

The reports are those of ``desk.compliance.reports``; each runs the same SQL file a
compliance officer runs with ``psql`` (see sql/README.md).
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from desk.config.model import DeskConfig

# CLI option -> the psql variable it sets.
_OPTIONS = {
    "start": ("--from", "from"),
    "end": ("--to", "to"),
    "counterparty": ("--counterparty", "counterparty"),
    "min_notional": ("--min-notional", "min_notional"),
    "trade_id": ("--trade-id", "trade_id"),
}
_FLAG = {variable: flag for flag, variable in _OPTIONS.values()}


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"not a finite amount >= 0: {text!r}")
    return value


def add_parser(sub: Any) -> None:
    """Add the ``report`` sub-command to ``otc-desk``'s sub-parsers."""
    # main imported this module before calling here, so this import finds it loaded.
    from desk.cli.main import parse_time
    from desk.compliance.output import FORMATS
    from desk.compliance.reports import REPORTS

    names = "\n".join(f"  {r.name:<14} {r.summary}" for r in REPORTS.values())
    report = sub.add_parser(
        "report",
        help="run a compliance report (the SQL of sql/compliance/) on the ledger",
        description=f"Run a compliance report on the ledger. Reports:\n{names}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("name", help="the report (see above)")
    report.add_argument("--from", dest="start", type=parse_time, help="first instant (ISO, UTC)")
    report.add_argument("--to", dest="end", type=parse_time, help="end, excluded (ISO, UTC)")
    report.add_argument("--counterparty", help="only this counterparty (its CompID)")
    report.add_argument("--min-notional", type=_amount, help="large-trades: the threshold")
    report.add_argument("--trade-id", type=int, help="trade-life: the trade")
    report.add_argument("--format", choices=tuple(FORMATS), default="table")


def _problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the command line, or None."""
    from desk.compliance.reports import REPORTS

    report = REPORTS.get(args.name)
    if report is None:
        return f"unknown report {args.name!r}; the reports are: {', '.join(REPORTS)}"
    given = {
        variable for attr, (_, variable) in _OPTIONS.items() if getattr(args, attr) is not None
    }
    takes = " ".join(
        [_FLAG[v] for v in sorted(report.required)]
        + [f"[{_FLAG[v]}]" for v in sorted(report.optional)]
    )
    extra = [_FLAG[v] for v in sorted(given - report.variables)]
    if extra:
        return f"{report.name} does not take {' or '.join(extra)} (it takes: {takes})"
    missing = [_FLAG[v] for v in sorted(report.required - given)]
    if missing:
        return f"{report.name} needs {' and '.join(missing)}"
    if args.start is not None and args.end is not None and args.start >= args.end:
        return f"--from ({args.start.isoformat()}) must be before --to ({args.end.isoformat()})"
    return None


def run(config: DeskConfig, args: argparse.Namespace) -> int:
    """Run ``otc-desk report``; the exit status."""
    from sqlalchemy.exc import DBAPIError

    from desk.compliance.output import FORMATS
    from desk.compliance.reports import REPORTS
    from desk.compliance.runner import run_report
    from desk.ledger.database import redact_url

    problem = _problem(args)
    if problem is not None:
        print(f"otc-desk report: {problem}", file=sys.stderr)
        return 2
    report = REPORTS[args.name]
    values = {variable: getattr(args, attr) for attr, (_, variable) in _OPTIONS.items()}
    try:
        rows = run_report(config.database_url, report, values)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(
            f"otc-desk report: {report.name} failed on {redact_url(config.database_url)}: "
            f"{reason} (is the ledger migrated? otc-desk db upgrade)",
            file=sys.stderr,
        )
        return 1
    FORMATS[args.format](report, rows, sys.stdout)
    return 0
