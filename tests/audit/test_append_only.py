"""audit_log is append-only in the database itself, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from desk.audit.chain import first_break
from tests.audit.chain_rows import append_records, chain, record


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET body = '{}' WHERE seq = 2",
        "UPDATE audit_log SET hash = NULL",
        "DELETE FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_log",
    ],
)
def test_change_when_update_or_delete_then_refused(engine: Engine, statement: str) -> None:
    append_records(engine, [record(1), record(2), record(3)])
    before = chain(engine)

    with pytest.raises(DBAPIError, match="audit_log is append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)

    assert chain(engine) == before


def test_truncate_when_postgresql_then_refused(pg_url: str) -> None:
    from desk.ledger.database import make_engine

    engine = make_engine(pg_url)
    try:
        append_records(engine, [record(1)])
        refused = pytest.raises(DBAPIError, match="audit_log is append-only: TRUNCATE refused")
        with refused, engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE audit_log")
        assert len(chain(engine)) == 1
    finally:
        engine.dispose()


def test_insert_when_writer_supplies_chain_columns_then_database_decides(engine: Engine) -> None:
    append_records(engine, [record(1)])
    forged = (
        "INSERT INTO audit_log (seq, recorded_at, kind, msg_type, body, prev_hash, hash) "
        "SELECT 7, recorded_at, kind, msg_type, body, 'x', 'y' FROM audit_log WHERE seq = 1"
    )

    if engine.dialect.name == "sqlite":
        with pytest.raises(DBAPIError, match="computed by the database"), engine.begin() as c:
            c.exec_driver_sql(forged)
        refused = pytest.raises(DBAPIError, match="seq is assigned by the database")
        with refused, engine.begin() as conn:
            conn.exec_driver_sql(forged.replace(", 'x', 'y'", ", NULL, NULL"))
        assert [row.seq for row in chain(engine)] == [1]
    else:
        with engine.begin() as conn:  # the trigger overrides what the writer said
            conn.exec_driver_sql(forged)
        rows = chain(engine)
        assert [row.seq for row in rows] == [1, 2]
        assert rows[1].prev_hash == rows[0].hash
    assert first_break(chain(engine)) is None
