"""Engines for the ledger: an embedded SQLite file or PostgreSQL through psycopg 3."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import QueuePool, StaticPool

from desk.audit.chain import sha256_hex, utc_text
from desk.ledger.column_types import sqlite_decimal_add
from desk.ledger.pg_liveness import replace_dead_connections
from desk.ledger.sqlite_checkpoint import WAL_AUTOCHECKPOINT_PAGES
from desk.ledger.sqlite_write_gate import gated_connection_factory, write_gate

__all__ = [
    "SQLITE_FUNCTIONS",
    "SQLITE_PRAGMAS",
    "LedgerEngines",
    "is_sqlite_in_memory",
    "make_engine",
    "make_engines",
    "normalise_url",
    "redact_url",
]

# Applied to every new SQLite connection (PRAGMAs are per connection, not per file):
#  * WAL: readers never block the writer and vice versa;
#  * synchronous=FULL: a committed trade survives power loss (NORMAL may lose the last commits
#    in WAL mode, and a booked trade must be there when the counterparty resends);
#  * foreign_keys: SQLite ignores FOREIGN KEY clauses unless told otherwise, per connection;
#  * busy_timeout: writers from several QuickFIX threads queue for the lock instead of failing;
#  * wal_autocheckpoint: far out, a backstop; the audit writer checkpoints the log after each
#    batch instead of a booking's commit doing it (desk.ledger.sqlite_checkpoint).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}",
)
# A deferred-durability connection (``LedgerEngines.deferred``): in WAL mode NORMAL commits
# without syncing the log; the next FULL commit's sync of the same file covers them.
_SQLITE_DEFERRED_PRAGMAS = tuple(
    p.replace("synchronous=FULL", "synchronous=NORMAL") for p in SQLITE_PRAGMAS
)
# PostgreSQL's asynchronous commit: visible to every session at once, flushed to the WAL by
# the WAL writer within 3 x wal_writer_delay, or sooner by the next synchronous commit.
_PG_DEFERRED_OPTION = "-c synchronous_commit=off"


def sqlite_audit_time(stored: str) -> str:
    """``desk_audit_time`` on SQLite: UtcDateTime's stored text as the chain's UTC text."""
    moment = datetime.fromisoformat(stored)
    if moment.tzinfo is None:
        raise ValueError(f"naive time in audit_log: {stored!r}")
    return utc_text(moment)


# The SQL functions of the audit chain and the positions trigger (PostgreSQL gets its own from
# migrations 0004_audit and 0006_positions), registered
# as deterministic so SQLite may use them in triggers and indexes.
SQLITE_FUNCTIONS: tuple[tuple[str, int, Callable[..., str]], ...] = (
    ("desk_sha256", 1, sha256_hex),
    ("desk_audit_time", 1, sqlite_audit_time),
    ("desk_decimal_add", 2, sqlite_decimal_add),  # the positions trigger (0006_positions)
)

_PG_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}


def normalise_url(url: str | URL) -> URL:
    """Parse ``url``; plain ``postgresql://`` (or ``postgres://``) becomes psycopg 3.

    Raises ``ValueError`` for other PostgreSQL drivers and for unparsable URLs.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {redact_url(str(url))}") from exc
    if parsed.drivername.startswith("postgres"):
        if parsed.drivername not in _PG_DRIVERS:
            raise ValueError(f"PostgreSQL is used through psycopg 3, not {parsed.drivername}")
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def redact_url(url: str | URL) -> str:
    """``url`` with the password replaced by ``***``, safe to log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        # Not parsable, so we cannot tell where a password would be: show only the scheme.
        text = str(url)
        return text.split("://", 1)[0] + "://***" if "://" in text else "***"


def _sqlite_in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:")


def is_sqlite_in_memory(url: str | URL) -> bool:
    """Whether ``url`` is an SQLite database that exists only inside this process."""
    parsed = normalise_url(url)
    return parsed.get_backend_name() == "sqlite" and _sqlite_in_memory(parsed)


def _sqlite_engine(
    url: URL, pragmas: tuple[str, ...] = SQLITE_PRAGMAS, pool_size: int = 8
) -> Engine:
    database = url.database or ""
    in_memory = _sqlite_in_memory(url)
    # Every engine of one file in this process shares its gate, which other processes
    # respect too (sqlite_write_gate); an in-memory database is this engine's alone.
    gate = write_gate(None if in_memory else Path(database))
    kwargs: dict[str, Any] = {
        # Commits arrive from several QuickFIX threads; each checks a connection out of the
        # pool, so no connection is used by two threads at once and the sqlite3 guard is moot.
        "connect_args": {
            "check_same_thread": False,
            # Writers queue on a gate, not in SQLite's sleeping busy handler.
            "factory": gated_connection_factory(gate),
        },
    }
    if in_memory:
        # One in-memory database exists per connection; share a single one (tests only).
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(poolclass=QueuePool, pool_size=pool_size, max_overflow=2 * pool_size)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _prepare_connection(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()
        for name, arity, function in SQLITE_FUNCTIONS:
            dbapi_connection.create_function(name, arity, function, deterministic=True)

    return engine


def make_engine(url: str | URL) -> Engine:
    """An engine for the ledger at ``url`` (``sqlite:///path`` or ``postgresql://...``).

    SQLite: the file's directory is created, every connection gets ``SQLITE_PRAGMAS`` and the
    audit chain's ``SQLITE_FUNCTIONS``, and a thread-safe queue pool is used. PostgreSQL:
    psycopg 3; a connection the server dropped (a restart, a terminated backend) is replaced at
    checkout instead of failing a trade (``pg_liveness``: no round trip, unlike a pre-ping).
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(parsed, pool_size=8, max_overflow=16)
        replace_dead_connections(engine)
        return engine
    raise ValueError(f"unsupported database {redact_url(parsed)}: use sqlite or postgresql")


@dataclass(frozen=True)
class LedgerEngines:
    """The ledger's two kinds of commit, on one database.

    ``durable``: a commit is on disk when it returns. For whatever precedes an effect outside
    the database: a client's fill report (the trade), a rejection, a hedge order before it is
    sent to a venue.

    ``deferred``: a commit is visible to every connection at once, but reaches the disk with
    the next durable commit (on PostgreSQL also within the WAL writer's delay). A crash of the
    desk process loses none of it; only a crash of the machine can lose the latest deferred
    commits, and then with nothing after them (the log is a prefix). For writes that nothing
    outside the database has acted on yet: audit records of FIX messages (QuickFIX's own
    store and log hold them too), and the hedger's bookkeeping between orders, which a
    restart recovers from the venues by client order id. Its commits do not wait for a disk
    flush, so they hold the SQLite write lock, or the audit chain's lock, far more briefly.
    """

    durable: Engine
    deferred: Engine

    def dispose(self) -> None:
        self.durable.dispose()
        if self.deferred is not self.durable:
            self.deferred.dispose()


def make_engines(url: str | URL) -> LedgerEngines:
    """A durable engine as ``make_engine`` gives, and a deferred-durability sibling.

    On SQLite both queue on the file's write gate (one file, one writer); an in-memory
    database has no durability to defer, so both are the same engine.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if _sqlite_in_memory(parsed):
            engine = _sqlite_engine(parsed)
            return LedgerEngines(durable=engine, deferred=engine)
        return LedgerEngines(
            durable=_sqlite_engine(parsed),
            deferred=_sqlite_engine(parsed, _SQLITE_DEFERRED_PRAGMAS, pool_size=2),
        )
    durable = make_engine(parsed)
    given = parsed.query.get("options", ())
    options = " ".join((*((given,) if isinstance(given, str) else given), _PG_DEFERRED_OPTION))
    deferred = create_engine(
        parsed, pool_size=2, max_overflow=4, connect_args={"options": options}
    )
    replace_dead_connections(deferred)
    return LedgerEngines(durable=durable, deferred=deferred)
