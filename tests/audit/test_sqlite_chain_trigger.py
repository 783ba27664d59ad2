"""SQLite's chain trigger builds the row's UTC text in SQL (0007_sqlite_audit_time): for the
text the desk writes it calls no Python function but ``desk_sha256``, and the hash is the
one ``desk.audit.chain`` computes."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite

from desk.audit.chain import chained_hash, sha256_hex
from desk.audit.record import AuditRecord
from desk.ledger.column_types import UtcDateTime
from desk.ledger.migrate import downgrade, upgrade
from tests.fixtures.databases import migrated_sqlite_url

_INSERT = "INSERT INTO audit_log (recorded_at, kind, msg_type, body) VALUES (?, ?, ?, ?)"


def _refuse(_: object) -> str:
    raise AssertionError("the trigger called desk_audit_time")


def _connect(path: Path) -> sqlite3.Connection:
    """A plain connection whose desk_audit_time fails if the trigger calls it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("desk_sha256", 1, sha256_hex, deterministic=True)
    conn.create_function("desk_audit_time", 1, _refuse, deterministic=True)
    return conn


def _stored(moment: datetime) -> str:
    text = UtcDateTime().process_bind_param(moment, sqlite.dialect())
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC),  # no microseconds: still six digits stored
        datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=-3))),
    ],
)
def test_desk_written_times_are_hashed_in_sql_as_the_desk_hashes_them(
    tmp_path: Path, moment: datetime
) -> None:
    path = tmp_path / "ledger.db"
    migrated_sqlite_url(path)
    record = AuditRecord(recorded_at=moment, kind="ops", msg_type="desk.start", body="{}")
    with closing(_connect(path)) as conn:
        conn.execute(_INSERT, (_stored(moment), record.kind, record.msg_type, record.body))
        row = conn.execute("SELECT seq, prev_hash, hash FROM audit_log").fetchall()
    assert len(row) == 1
    seq, prev_hash, hash_ = row[0]
    assert (seq, prev_hash) == (1, None)
    assert hash_ == chained_hash(None, 1, record)


def test_other_time_text_still_goes_through_desk_audit_time(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    migrated_sqlite_url(path)
    refused = pytest.raises(sqlite3.OperationalError, match="user-defined")
    with closing(_connect(path)) as conn, refused:
        conn.execute(_INSERT, ("2026-01-05T12:00:00+00:00", "ops", "x", "{}"))


def test_downgrade_restores_the_python_time_function(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    url = migrated_sqlite_url(path)
    downgrade(url, "0006_positions")
    moment = datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC)
    refused = pytest.raises(sqlite3.OperationalError, match="user-defined")
    with closing(_connect(path)) as conn, refused:
        conn.execute(_INSERT, (_stored(moment), "ops", "x", "{}"))
    upgrade(url)
    with closing(_connect(path)) as conn:
        conn.execute(_INSERT, (_stored(moment), "ops", "x", "{}"))
