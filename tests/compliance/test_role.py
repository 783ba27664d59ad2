"""The read-only compliance role on PostgreSQL: reads every table and view, writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, inspect, make_url, text
from sqlalchemy.exc import ProgrammingError

from desk.compliance.reports import REPORTS
from desk.compliance.runner import run_report
from desk.ledger.database import make_engine
from desk.ledger.migrate import current_revision, downgrade, upgrade
from tests.compliance.scenario import WINDOW, at

ROLE = "desk_compliance"
INSUFFICIENT_PRIVILEGE = "42501"
VIEWS = {"trade_log", "rfq_events", "trade_amounts", "counterparty_postings",
         "settlement_schedule"}  # fmt: skip


@pytest.fixture
def as_compliance(seeded_pg_url: str) -> Iterator[Connection]:
    """An autocommit connection to the seeded ledger that has done SET ROLE desk_compliance."""
    engine = make_engine(seeded_pg_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SET ROLE {ROLE}")
            yield conn
    finally:
        engine.dispose()


def _relations(url: str) -> tuple[list[str], list[str]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return sorted(inspector.get_table_names()), sorted(inspector.get_view_names())
    finally:
        engine.dispose()


def _refused(conn: Connection, statement: str) -> None:
    with pytest.raises(ProgrammingError) as refused:
        conn.exec_driver_sql(statement)
    assert getattr(refused.value.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE, statement


def test_the_role_cannot_log_in(as_compliance: Connection) -> None:
    login = as_compliance.execute(
        text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :role"), {"role": ROLE}
    ).scalar_one()
    assert login is False


def test_the_role_reads_every_table_and_view(seeded_pg_url: str, as_compliance: Connection) -> None:
    tables, views = _relations(seeded_pg_url)
    assert set(views) == VIEWS
    assert {"audit_log", "journal_entries", "postings", "settlement_obligations"} <= set(tables)
    counts = {
        name: as_compliance.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar_one()  # noqa: S608 - catalogue names
        for name in tables + views
    }
    assert counts["trades"] == 6
    assert counts["trade_log"] == 6


def test_the_role_cannot_insert_update_or_delete_anywhere(
    seeded_pg_url: str, as_compliance: Connection
) -> None:
    tables, views = _relations(seeded_pg_url)
    for name in tables:
        # Names from the database's own catalogue, not input.
        _refused(as_compliance, f'INSERT INTO "{name}" SELECT * FROM "{name}" LIMIT 1')  # noqa: S608
        _refused(as_compliance, f'DELETE FROM "{name}"')  # noqa: S608
    # Most views could not be written anyway (joins); the privileges say no to all of them.
    granted = as_compliance.execute(
        text(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = :role"
        ),
        {"role": ROLE},
    ).all()
    assert sorted(granted) == [(name, "SELECT") for name in sorted(tables + views)]
    _refused(as_compliance, "UPDATE orders SET status = status")
    _refused(as_compliance, "UPDATE audit_log SET body = body")
    _refused(as_compliance, "UPDATE hedge_intents SET status = status")
    _refused(as_compliance, "TRUNCATE postings")
    _refused(as_compliance, "CREATE TABLE compliance_scratch (x integer)")


def test_every_report_runs_as_the_role(seeded_pg_url: str) -> None:
    as_role = make_url(seeded_pg_url).update_query_dict({"options": f"-c role={ROLE}"})
    url = as_role.render_as_string(hide_password=False)
    values = {"min_notional": 0, "trade_id": 1, "to": at(7, 0)} | WINDOW
    for report in REPORTS.values():
        wanted = {name: values[name] for name in report.required}
        assert run_report(url, report, wanted), report.name


def test_downgrade_takes_the_grants_away_and_upgrade_gives_them_back(pg_url: str) -> None:
    downgrade(pg_url, "0004_audit")
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            readable = conn.execute(
                text("SELECT has_table_privilege(:role, 'trades', 'SELECT')"), {"role": ROLE}
            ).scalar_one()
            assert readable is False
            assert inspect(conn).get_view_names() == ["trade_log"]
    finally:
        engine.dispose()
    assert current_revision(pg_url) == "0004_audit"
    upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            readable = conn.execute(
                text("SELECT has_table_privilege(:role, 'trades', 'SELECT')"), {"role": ROLE}
            ).scalar_one()
    finally:
        engine.dispose()
    assert readable is True
