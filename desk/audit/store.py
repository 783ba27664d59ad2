"""Appending audit records, reading the chain back (the database computes the chain), and
the day's QuoteReqIDs a restarted desk must still refuse."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, func, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.dml import Insert

from desk.audit.chain import ChainBreak, ChainRow
from desk.audit.record import AuditRecord
from desk.domain.rejects import RfqRejectCode
from desk.ledger.migrate import sql_dir
from desk.ledger.models import audit_log
from desk.ledger.raw_statements import execute_raw, execute_raw_many

_RECORD_COLUMNS = [c for c in audit_log.columns if c.name not in ("seq", "prev_hash", "hash")]
_RECORD_NAMES = [c.name for c in _RECORD_COLUMNS]
# The FIX MsgTypes of the desk's answers to a QuoteRequest, as the audit trail stores them.
_RFQ_ANSWERS = ("S", "AG")  # Quote, QuoteRequestReject
_INSERT = insert(audit_log)


def _pg_insert_all() -> Insert:
    """PostgreSQL: every record of a call in one INSERT, from one array per column, in the
    order given (``WITH ORDINALITY``; the chain trigger numbers rows as they are inserted)."""
    arrays = (bindparam(f"all_{c.name}", type_=ARRAY(c.type)) for c in _RECORD_COLUMNS)
    given = (
        func.unnest(*arrays)
        .table_valued(*_RECORD_NAMES, with_ordinality="position")
        .render_derived(name="given")
    )
    rows = select(*(given.c[name] for name in _RECORD_NAMES)).order_by(given.c.position)
    return insert(audit_log).from_select(_RECORD_NAMES, rows)


_PG_INSERT_ALL = _pg_insert_all()


def append(connection: Connection, records: Sequence[AuditRecord]) -> None:
    """Insert ``records`` in order on ``connection``; the triggers chain them.

    SQLite: one statement compiled once, run straight on the driver for each record
    (``raw_statements``): the audit writer inserts two rows per RFQ, and SQLAlchemy's own work
    per row of an ``executemany`` was about a tenth of its process's CPU under load.

    PostgreSQL: one statement for all of them, atomic on its own, so on an autocommit
    connection (``EngineBatches``) the chain's lock is taken and released inside the server:
    it is never held while the writer, a process below the desk's priority, waits for a core
    to send its COMMIT. About a fifth less of the server's time per row than one INSERT each.
    """
    if not records:
        return
    if connection.dialect.name == "postgresql":
        arrays = {f"all_{name}": [getattr(r, name) for r in records] for name in _RECORD_NAMES}
        execute_raw(connection, _PG_INSERT_ALL, arrays)
    else:
        execute_raw_many(connection, _INSERT, [r.as_row() for r in records])


def append_now(engine: Engine, record: AuditRecord) -> None:
    """Insert one record in its own transaction (ops actions outside a running desk)."""
    with engine.begin() as connection:
        append(connection, [record])


def quote_req_ids_answered_since(connection: Connection, since: datetime) -> dict[str, set[str]]:
    """The QuoteReqIDs each counterparty used from ``since`` on, as the audit trail has them:
    every one the desk answered with a Quote or a QuoteRequestReject, except where the only
    answer was RATE_LIMITED (refused before its QuoteReqID counts as used, as it is live)."""
    statement = select(audit_log.c.counterparty, audit_log.c.quote_req_id).where(
        audit_log.c.recorded_at >= since,
        audit_log.c.kind == "fix.out",
        audit_log.c.msg_type.in_(_RFQ_ANSWERS),
        audit_log.c.counterparty.is_not(None),
        audit_log.c.quote_req_id.is_not(None),
        or_(
            audit_log.c.reason.is_(None),
            audit_log.c.reason != RfqRejectCode.RATE_LIMITED.name,
        ),
    )
    used: dict[str, set[str]] = {}
    for counterparty, quote_req_id in connection.execute(statement):
        used.setdefault(counterparty, set()).add(quote_req_id)
    return used


def row_count(connection: Connection) -> int:
    """How many rows the audit log holds."""
    return int(connection.execute(select(func.count()).select_from(audit_log)).scalar_one())


def read_chain(connection: Connection, batch: int = 1000) -> Iterator[ChainRow]:
    """Every row in seq order, streamed ``batch`` rows at a time."""
    statement = select(audit_log.c.seq, audit_log.c.prev_hash, audit_log.c.hash, *_RECORD_COLUMNS)
    result = connection.execute(
        statement.order_by(audit_log.c.seq), execution_options={"yield_per": batch}
    )
    for row in result.mappings():
        yield ChainRow(
            seq=row["seq"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
            record=AuditRecord(**{c.name: row[c.name] for c in _RECORD_COLUMNS}),
        )


def verify_chain_sql() -> Path:
    """``sql/audit/verify_chain.sql``, the query that names the first broken row."""
    return sql_dir() / "audit" / "verify_chain.sql"


def sql_first_break(connection: Connection) -> ChainBreak | None:
    """Run ``verify_chain.sql``: the database's verdict on the chain."""
    query = verify_chain_sql().read_text(encoding="utf-8")
    row = connection.exec_driver_sql(query).first()
    return None if row is None else ChainBreak(int(row[0]), str(row[1]))
