"""The documented psql invocations: each compliance file run by psql gives the desk's rows."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import make_url

from desk.compliance.reports import REPORTS
from desk.compliance.runner import cell_value, run_report
from tests.compliance.scenario import WINDOW, at

# One documented invocation per report: its psql variables (as a person would type them).
INVOCATIONS = [
    ("trade-log", {**WINDOW, "counterparty": "ACME"}),
    ("trade-log", WINDOW),
    ("rfq-outcomes", WINDOW),
    ("daily-volume", WINDOW),
    ("exposure", {"to": at(7, 0)}),
    ("large-trades", {**WINDOW, "min_notional": Decimal("7500.25")}),
    ("trade-life", {"trade_id": 1}),
]


def psql() -> str:
    """The psql program (the documented way to run the files)."""
    path = shutil.which("psql")
    assert path is not None, "psql is not installed (apt-get install postgresql-client)"
    return path


def psql_text(value: Any) -> str:
    """A value as a ``-v name=value`` argument."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def psql_rows(url: str, name: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the report's file with psql --csv and read its rows with the report's column kinds."""
    report = REPORTS[name]
    libpq_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    variables = [arg for k, v in values.items() for arg in ("-v", f"{k}={psql_text(v)}")]
    command = [psql(), libpq_url, "--no-psqlrc", "--csv", *variables, "-f", str(report.path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    header, *lines = list(csv.reader(done.stdout.splitlines()))
    assert tuple(header) == report.column_names
    return [
        {
            n: cell_value(kind, cell or None)
            for (n, kind), cell in zip(report.columns, line, strict=True)
        }
        for line in lines
    ]


@pytest.mark.parametrize(("name", "values"), INVOCATIONS)
def test_psql_runs_the_file_to_the_same_rows_as_the_desk(
    seeded_pg_url: str, name: str, values: dict[str, Any]
) -> None:
    expected = run_report(seeded_pg_url, REPORTS[name], values)
    assert expected  # the scenario gives every invocation something to show
    assert psql_rows(seeded_pg_url, name, values) == expected


def test_psql_names_a_missing_variable(seeded_pg_url: str) -> None:
    libpq_url = make_url(seeded_pg_url).set(drivername="postgresql").render_as_string(False)
    command = [psql(), libpq_url, "--no-psqlrc", "-v", "to=2026-02-01",
               "-f", str(REPORTS["large-trades"].path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.stdout.strip() == "missing -v from=YYYY-MM-DD (see the top of this file)"
