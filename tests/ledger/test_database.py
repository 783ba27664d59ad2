"""Engines: SQLite PRAGMAs and pool, PostgreSQL driver normalisation, URL redaction, and the
durable/deferred pair of the running desk."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, make_url, text
from sqlalchemy.pool import QueuePool

from desk.ledger.database import make_engine, make_engines, normalise_url, redact_url
from desk.ledger.sqlite_write_gate import GatedConnection


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
def test_postgres_urls_use_psycopg3_checked_at_checkout_without_pre_ping(url: str) -> None:
    engine = make_engine(url)  # no connection is made until first use
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.database == "desk"
        # Liveness is checked on the socket at checkout (pg_liveness), not by a round trip.
        assert not engine.pool._pre_ping  # type: ignore[attr-defined]
        assert event.contains(engine, "checkout", _checkout_listener(engine))
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


def _checkout_listener(engine: Engine) -> object:
    """The pool checkout listener ``pg_liveness`` installed on ``engine``."""
    listeners = list(engine.pool.dispatch.checkout)
    assert len(listeners) == 1
    return listeners[0]


def _raw(conn: Connection) -> object:
    return conn.connection.dbapi_connection


def test_sqlite_deferred_engine_commits_without_sync_on_the_same_write_gate(
    tmp_path: Path,
) -> None:
    engines = make_engines(f"sqlite:///{tmp_path / 'desk.db'}")
    try:
        with engines.durable.connect() as durable, engines.deferred.connect() as deferred:
            synchronous = (
                durable.execute(text("PRAGMA synchronous")).scalar_one(),
                deferred.execute(text("PRAGMA synchronous")).scalar_one(),
            )
            foreign_keys = deferred.execute(text("PRAGMA foreign_keys")).scalar_one()
            # One file, one writer: both engines queue on one in-process gate.
            assert isinstance(raw := _raw(durable), GatedConnection)
            assert isinstance(other := _raw(deferred), GatedConnection)
            assert raw.gate is other.gate
    finally:
        engines.dispose()
    assert synchronous == (2, 1)  # FULL, NORMAL
    assert foreign_keys == 1


def test_sqlite_deferred_commit_is_visible_to_the_durable_engine_at_once(
    tmp_path: Path,
) -> None:
    engines = make_engines(f"sqlite:///{tmp_path / 'desk.db'}")
    try:
        with engines.durable.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with engines.deferred.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engines.durable.connect() as conn:
            assert conn.execute(text("SELECT x FROM t")).scalars().all() == [1]
    finally:
        engines.dispose()


def test_in_memory_sqlite_has_one_engine_for_both() -> None:
    engines = make_engines("sqlite://")
    try:
        assert engines.deferred is engines.durable
    finally:
        engines.dispose()


@pytest.mark.postgres
def test_postgres_deferred_engine_commits_asynchronously_keeping_url_options(
    pg_url: str,
) -> None:
    url = make_url(pg_url).update_query_dict({"options": "-c statement_timeout=4321"})
    engines = make_engines(url)
    try:
        settings = {}
        for name, engine in (("durable", engines.durable), ("deferred", engines.deferred)):
            with engine.connect() as conn:
                settings[name] = (
                    conn.execute(text("SHOW synchronous_commit")).scalar_one(),
                    conn.execute(text("SHOW statement_timeout")).scalar_one(),
                )
    finally:
        engines.dispose()
    assert settings == {"durable": ("on", "4321ms"), "deferred": ("off", "4321ms")}
