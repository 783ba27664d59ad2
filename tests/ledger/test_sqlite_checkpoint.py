"""SQLite's log is checkpointed by the audit writer after its batches, not inside a commit."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, text
from structlog.testing import capture_logs

from desk.audit.batch_writers import EngineBatches, built
from desk.audit.store import append
from desk.ledger.database import make_engine
from desk.ledger.sqlite_checkpoint import WAL_AUTOCHECKPOINT_PAGES, checkpoint_wal
from tests.audit.chain_rows import record

# SQLite's default: a commit that takes the log past this many pages checkpoints it.
_SQLITE_DEFAULT_AUTOCHECKPOINT = 1000


def _rows_in_the_database_file(database: Path, copy: Path) -> int:
    """Audit rows in the database file alone, as if the log did not exist: only what a
    checkpoint has copied there."""
    shutil.copyfile(database, copy)
    with sqlite3.connect(copy) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])


def _log_pages(database: Path) -> int:
    wal = database.with_name(database.name + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


def test_commits_leave_the_log_alone_and_the_audit_writer_checkpoints_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    database = tmp_path / "ledger.db"
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            pages = conn.execute(text("PRAGMA wal_autocheckpoint")).scalar()
        assert pages == WAL_AUTOCHECKPOINT_PAGES
        # One commit per record, as bookings commit, until the log is past the point where
        # SQLite's default would have checkpointed it inside one of them.
        n = 0
        while _log_pages(database) <= 2 * _SQLITE_DEFAULT_AUTOCHECKPOINT:
            n += 1
            assert n < 20_000, "the log does not grow"
            with engine.begin() as conn:
                append(conn, built([record(n)]))
        assert _rows_in_the_database_file(database, tmp_path / "before.db") == 0

        EngineBatches(engine).write([record(n + 1)])

        assert _rows_in_the_database_file(database, tmp_path / "after.db") == n + 1
    finally:
        engine.dispose()


def test_a_failed_checkpoint_is_logged_not_raised(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    engine.dispose()
    (tmp_path / "ledger.db").write_bytes(b"not a database" * 512)
    broken: Engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        with capture_logs() as logs:
            checkpoint_wal(broken)
    finally:
        broken.dispose()
    [failed] = [e for e in logs if e["event"] == "ledger.wal_checkpoint_failed"]
    assert "DatabaseError" in failed["error"]
