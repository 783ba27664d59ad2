"""Alembic environment for the desk ledger (SQLite and PostgreSQL).

The database comes from, in order: a connection handed over by the caller in
``config.attributes["connection"]`` (what ``desk.ledger.migrate`` does), the config's
``sqlalchemy.url``, the ``DESK_DATABASE_URL`` environment variable, ``sqlite:///var/desk.db``.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

from desk.ledger.database import make_engine

DEFAULT_URL = "sqlite:///var/desk.db"
# pg_advisory_xact_lock key ("deskledg"): desk processes starting together migrate one at a time.
PG_MIGRATION_LOCK = 0x6465736B6C656467

config = context.config

# Only the alembic CLI configures logging; a desk process calling upgrade() keeps its own.
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """The URL to migrate: the caller's, the environment's, or the embedded default."""
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("DESK_DATABASE_URL")
        or DEFAULT_URL
    )


def run_migrations_offline() -> None:
    """Emit the SQL as a script (``alembic upgrade head --sql``) instead of running it."""
    context.configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    """Run the pending migrations on ``connection``, as one transaction on both backends."""
    dialect = connection.dialect.name
    # Alembic treats SQLite DDL as non-transactional, but SQLite can roll DDL back; a failed
    # migration should leave the file as it was rather than half-built.
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        if dialect == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK}
            )
        elif dialect == "sqlite":
            # pysqlite does not BEGIN before DDL; take the write lock up front ourselves, which
            # also serialises two processes migrating the same file.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations against a live database."""
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        run_on(given)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
