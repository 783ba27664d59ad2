"""Programmatic Alembic: bring a ledger database up to date from the desk process or tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from desk.ledger.database import make_engine

__all__ = ["current_revision", "head_revision", "sql_dir", "upgrade"]


def sql_dir() -> Path:
    """The ``sql/`` folder: ``$DESK_SQL_DIR`` if set, else the one in this repository."""
    override = os.environ.get("DESK_SQL_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "sql"


def _config() -> Config:
    directory = sql_dir()
    migrations = directory / "migrations"
    if not (migrations / "env.py").is_file():
        raise FileNotFoundError(f"no Alembic migrations in {migrations} (set DESK_SQL_DIR?)")
    # No ini file: alembic.ini only exists for people running the alembic CLI, and reading it
    # here would reconfigure the desk's logging.
    config = Config()
    config.set_main_option("script_location", str(migrations))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; a no-op when it is already there.

    Runs on an engine from ``make_engine`` (same PRAGMAs, same driver as the desk) and hands
    the connection to env.py, so a password in the URL never goes through the ini parser.
    """
    _run(url, command.upgrade, revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` back to ``revision`` (tests and operators undoing one)."""
    _run(url, command.downgrade, revision)


def _run(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    config = _config()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            step(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or ``None`` if it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision in the migrations folder."""
    return ScriptDirectory.from_config(_config()).get_current_head()
