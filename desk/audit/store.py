"""Appending audit records and reading the chain back (the database computes the chain)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select

from desk.audit.chain import ChainBreak, ChainRow
from desk.audit.record import AuditRecord
from desk.ledger.migrate import sql_dir
from desk.ledger.models import audit_log

_RECORD_COLUMNS = [c for c in audit_log.columns if c.name not in ("seq", "prev_hash", "hash")]


def append(connection: Connection, records: Sequence[AuditRecord]) -> None:
    """Insert ``records`` in order inside the caller's transaction; the triggers chain them."""
    if records:
        connection.execute(insert(audit_log), [r.as_row() for r in records])


def append_now(engine: Engine, record: AuditRecord) -> None:
    """Insert one record in its own transaction (ops actions outside a running desk)."""
    with engine.begin() as connection:
        append(connection, [record])


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
