"""Engines: SQLite PRAGMAs and pool, PostgreSQL driver normalisation, URL redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from desk.ledger.database import make_engine, normalise_url, redact_url


def test_sqlite_engine_creates_the_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "desk.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert isinstance(engine.pool, QueuePool)  # several QuickFIX threads commit at once
    finally:
        engine.dispose()
    assert path.parent.is_dir()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://desk:secret@db:5432/desk",
        "postgres://desk:secret@db:5432/desk",
        "postgresql+psycopg://desk:secret@db:5432/desk",
    ],
)
def test_postgres_urls_use_psycopg3_with_pre_ping(url: str) -> None:
    engine = make_engine(url)  # no connection is made until first use
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.database == "desk"
        assert engine.pool._pre_ping  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_other_drivers_are_refused() -> None:
    with pytest.raises(ValueError, match="psycopg 3"):
        normalise_url("postgresql+psycopg2://desk@db/desk")
    with pytest.raises(ValueError, match="unsupported"):
        make_engine("mysql://desk@db/desk")


def test_redact_url_hides_the_password() -> None:
    shown = redact_url("postgresql+psycopg://desk:s3cr%40t@db:5432/desk")
    assert "s3cr" not in shown
    assert shown == "postgresql+psycopg://desk:***@db:5432/desk"
    assert redact_url("sqlite:///var/desk.db") == "sqlite:///var/desk.db"
    assert "hunter2" not in redact_url("not a url hunter2")
