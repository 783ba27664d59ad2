"""Reading psql files into one query per backend, and SQLite's exact decimal functions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from desk.compliance.reports import REPORTS
from desk.compliance.sql_file import SqlFileError, load_query, parse_query
from desk.compliance.sqlite_exact import register_exact_functions
from desk.ledger.database import make_engine

PATH = Path("example.sql")
SOURCE = r"""-- Example: -v from=... (a comment with :'ignored' and a ; in it)
\set ON_ERROR_STOP on
\if :{?counterparty}
\else
  \set counterparty ''
\endif
SET TIME ZONE 'UTC';
SELECT ':''kept'' -- not a comment;' AS literal, amount   -- the amount's comment
FROM t
WHERE at >= :'from'::timestamptz AND amount >= :'min'::numeric
  AND (:'counterparty' = '' OR counterparty = :'counterparty') AND id = :'id'::INTEGER;
"""


def test_the_query_keeps_strings_and_drops_comments_meta_commands_and_setup() -> None:
    query = parse_query(PATH, SOURCE)
    assert query.variables == {
        "from": "timestamptz", "min": "numeric", "counterparty": None, "id": "integer",
    }  # fmt: skip
    assert query.render("postgresql") == (
        "SELECT ':''kept'' -- not a comment;' AS literal, amount   \n"
        "FROM t\n"
        "WHERE at >= CAST(:from AS timestamptz) AND amount >= CAST(:min AS numeric)\n"
        "  AND (:counterparty = '' OR counterparty = :counterparty) AND id = CAST(:id AS integer)"
    )
    assert query.render("sqlite").splitlines()[2:] == [
        "WHERE at >= :from AND amount >= (:min COLLATE decimal)",
        "  AND (:counterparty = '' OR counterparty = :counterparty) AND id = :id",
    ]


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("SELECT 1", "the query must end with ';'"),
        ("-- nothing\n", "no query"),
        ("CREATE TEMP TABLE x (y int);\nSELECT 1;", "only SET may come before the query"),
        ("SELECT :'x'::float8;", r"the desk binds only"),
        ("SELECT :'x'::numeric, :'x';", "is cast two different ways"),
    ],
)
def test_a_file_the_desk_cannot_run_is_refused(source: str, problem: str) -> None:
    with pytest.raises(SqlFileError, match=problem):
        parse_query(PATH, source)


def test_every_report_file_uses_the_variables_its_report_declares() -> None:
    for report in REPORTS.values():
        assert set(load_query(report.path).variables) == report.variables, report.name


@pytest.fixture
def exact() -> Iterator[sqlite3.Connection]:
    """An in-memory SQLite connection with the exact functions."""
    connection = sqlite3.connect(":memory:")
    register_exact_functions(connection)
    try:
        yield connection
    finally:
        connection.close()


def _one(connection: sqlite3.Connection, sql: str) -> object:
    return connection.execute(sql).fetchone()[0]


def test_sum_adds_decimal_text_exactly(exact: sqlite3.Connection) -> None:
    total = _one(
        exact,
        "SELECT sum(column1) FROM (VALUES ('0.1'), ('0.2'), "
        "('12345678901234567890.123456789012345678'), ('-1E-18'))",
    )
    assert total == "12345678901234567890.423456789012345677"


def test_sum_of_integers_is_an_integer_and_of_nothing_is_null(exact: sqlite3.Connection) -> None:
    assert _one(exact, "SELECT sum(column1) FROM (VALUES (1), (2), (NULL))") == 3
    assert _one(exact, "SELECT sum(column1) FROM (VALUES (NULL))") is None


def test_sum_refuses_a_float(exact: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.OperationalError, match="step"):
        _one(exact, "SELECT sum(column1) FROM (VALUES (0.5))")


def test_the_decimal_collation_compares_by_value(exact: sqlite3.Connection) -> None:
    assert _one(exact, "SELECT '11999.95' >= ('7500.25' COLLATE decimal)") == 1
    assert _one(exact, "SELECT '7500.249999999999999999' >= ('7500.25' COLLATE decimal)") == 0
    assert _one(exact, "SELECT '11999.95' >= '7500.25'") == 0  # what plain text would say


RATIOS = [(2, 3), (1, 32), (3, 4), (5, 1), (0, 7), (1, 0), (1, 20000), (3, 20000)]


def test_compliance_ratio_is_the_same_on_sqlite_and_postgresql(
    exact: sqlite3.Connection, pg_url: str
) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            on_pg = [
                conn.execute(text("SELECT compliance_ratio(:n, :d)"), {"n": n, "d": d}).scalar()
                for n, d in RATIOS
            ]
    finally:
        engine.dispose()
    on_sqlite = [exact.execute("SELECT compliance_ratio(?, ?)", r).fetchone()[0] for r in RATIOS]
    expected = ["0.6667", "0.0313", "0.75", "5", "0", None, "0.0001", "0.0002"]
    assert on_sqlite == expected
    assert [None if v is None else Decimal(v) for v in expected] == on_pg
