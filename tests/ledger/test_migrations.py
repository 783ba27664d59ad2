"""Alembic migrations on real SQLite and PostgreSQL, programmatic and from the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, make_url
from sqlalchemy.exc import DBAPIError

from desk.domain.side import Side
from desk.ledger.database import make_engine
from desk.ledger.hedge_store import HedgeStore
from desk.ledger.migrate import current_revision, head_revision, sql_dir, upgrade
from desk.ledger.models import TRADE_LOG_COLUMNS, Base
from desk.ledger.repository import Ledger
from tests.ledger.factories import T0, booking

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "desk_boots",
    "orders",
    "trades",
    "hedge_intents",
    "fills",
    "hedge_batches",
    "hedge_orders",
    "positions",
}
HEAD = "0009_journal_checked_once"


def test_head_is_the_latest_revision() -> None:
    assert head_revision() == HEAD
    assert sql_dir() == REPO / "sql"


def test_upgrade_from_empty_then_again_is_a_no_op(empty_db_url: str) -> None:
    assert current_revision(empty_db_url) is None

    upgrade(empty_db_url)

    assert current_revision(empty_db_url) == HEAD
    engine = make_engine(empty_db_url)
    try:
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) >= TABLES
        assert "trade_log" in inspector.get_view_names()
        boot = Ledger(engine).start_boot(T0, "host", 1)

        upgrade(empty_db_url)  # already at head: nothing happens, nothing is lost

        assert current_revision(empty_db_url) == HEAD
        assert Ledger(engine).start_boot(T0, "host", 2) == boot + 1
    finally:
        engine.dispose()


def test_a_failed_migration_leaves_the_database_as_it_was(empty_db_url: str) -> None:
    # Both backends run the revision in one transaction (SQLite too: see env.py).
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE trade_log (x INTEGER)")  # the view cannot be made
        with pytest.raises(DBAPIError, match="trade_log"):
            upgrade(empty_db_url)
        assert set(inspect(engine).get_table_names()) == {"trade_log"}
    finally:
        engine.dispose()
    assert current_revision(empty_db_url) is None


def test_models_match_the_migrated_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_trade_log_view_has_the_columns_in_order(db_url: str) -> None:
    expected = [
        "trade_id", "executed_at", "counterparty", "symbol", "side", "qty", "price",
        "notional", "quote_id", "cl_ord_id", "exec_id",
    ]  # fmt: skip
    engine = make_engine(db_url)
    try:
        columns = [c["name"] for c in inspect(engine).get_columns("trade_log")]
    finally:
        engine.dispose()
    assert columns == expected == list(TRADE_LOG_COLUMNS)


def test_alembic_command_line_takes_the_url_from_the_environment(empty_db_url: str) -> None:
    # What a person runs from the repository root (see sql/README.md).
    env = {**os.environ, "DESK_DATABASE_URL": empty_db_url, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "alembic", "-c", "sql/alembic.ini", "upgrade", "head"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert current_revision(empty_db_url) == HEAD


def test_sql_dir_can_be_moved_with_an_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESK_SQL_DIR", str(tmp_path))
    assert sql_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="DESK_SQL_DIR"):
        upgrade(f"sqlite:///{tmp_path / 'x.db'}")


def test_compliance_query_runs_in_psql(pg_url: str) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed")
    engine = make_engine(pg_url)
    try:
        ledger = Ledger(engine)
        ledger.book_fill(booking(cl_ord_id="JAN", executed_at=T0))
        ledger.book_fill(booking(cl_ord_id="FEB", executed_at=T0 + timedelta(days=31)))
    finally:
        engine.dispose()
    libpq_url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    command = [
        psql, libpq_url, "--no-psqlrc", "--csv",
        "-v", "from=2026-01-01", "-v", "to=2026-02-01",
        "-f", str(REPO / "sql" / "compliance" / "trade_log.sql"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.strip().splitlines()
    assert header.split(",") == list(TRADE_LOG_COLUMNS)
    assert len(rows) == 1
    assert rows[0].split(",")[1] == "2026-01-05 12:00:00.123456+00"
    assert ",JAN," in rows[0]
    assert ",0.000123450000000000,61234.560000000000000000," in rows[0]


def test_positions_revision_fills_the_table_from_the_fills_already_booked(
    empty_db_url: str,
) -> None:
    upgrade(empty_db_url, "0005_compliance")
    engine = make_engine(empty_db_url)
    try:
        ledger = Ledger(engine)  # a client BUY is a desk SELL, and the other way round
        ledger.book_fill(booking(side=Side.BUY, qty=Decimal("2.5")))
        ledger.book_fill(booking(side=Side.SELL, qty=Decimal("0.75")))
        ledger.book_fill(booking(side=Side.SELL, qty=Decimal("1"), symbol="ETH/USD"))

        upgrade(empty_db_url)

        assert HedgeStore(engine).positions_by_symbol() == {
            "BTC/USD": Decimal("-1.75"),
            "ETH/USD": Decimal("1"),
        }
    finally:
        engine.dispose()
