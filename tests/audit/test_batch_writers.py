"""The audit writer's batches written in a process of its own: committed, retried, restarted."""

from __future__ import annotations

import os
import pickle
import pickletools
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from structlog.testing import capture_logs

from desk.audit.batch_writers import (
    RECORDS_PER_TRANSACTION,
    AuditWriteFailed,
    EngineBatches,
    ProcessBatches,
    batches_for,
    portable,
)
from desk.audit.chain import first_break
from desk.audit.record import AuditRecord
from desk.audit.write_behind import AuditWriter
from desk.audit.writer_process import NICENESS
from desk.ledger.database import make_engine
from gateway.fix_audit import FixWire
from tests.audit.chain_rows import chain, record

_WIRE = "8=FIX.4.4\x019=40\x0135=S\x01131=rfq-9\x01117=Q-9\x0110=000\x01"
_AT = datetime(2026, 1, 5, 12, 0, 1, tzinfo=UTC)


def _outage(engine: Engine, quote_req_id: str | None = None) -> None:
    """SQLite refuses audit rows: every one, or only the one for ``quote_req_id``."""
    when = "" if quote_req_id is None else f"WHEN NEW.quote_req_id = '{quote_req_id}' "
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TRIGGER outage BEFORE INSERT ON audit_log {when}"
            "BEGIN SELECT RAISE(ABORT, 'simulated outage'); END"
        )


def test_a_batch_is_committed_by_the_child_with_its_deferred_records_built_there(
    db_url: str, engine: Engine
) -> None:
    pricing = {"pricing": {"composite_mid": "60000.5"}}
    wire = FixWire("fix.out", _WIRE, "CLIENT1", _AT, lambda: pricing)  # a closure: not picklable
    batches = ProcessBatches(db_url)
    try:
        batches.write([record(1), wire, record(2)])
        child = batches.pid
        assert child is not None
        assert child != os.getpid()
        batches.write([record(3)])
        assert batches.pid == child  # one child for the desk's lifetime
        # It runs below the desk's priority (NICENESS), so the FIX thread never waits for it.
        own = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, child) == min(own + NICENESS, 19)
    finally:
        batches.close()

    rows = chain(engine)
    assert [row.record for row in rows] == [record(1), wire.build(), record(2), record(3)]
    assert '"composite_mid":"60000.5"' in rows[1].record.body
    assert first_break(rows) is None
    assert batches.pid is None
    assert _ended(child)


def test_a_refused_batch_raises_with_the_databases_reason_and_the_child_logs_it(
    sqlite_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(sqlite_url)
    _outage(engine)
    batches = ProcessBatches(sqlite_url)
    try:
        with pytest.raises(AuditWriteFailed, match="simulated outage"):
            batches.write([record(1)])
        child = batches.pid
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER outage")
        batches.write([record(1)])  # the same child, now able to write
        assert batches.pid == child
    finally:
        batches.close()
        engine.dispose()

    assert [row.record for row in chain(make_engine(sqlite_url))] == [record(1)]
    logged = capfd.readouterr().out
    assert '"event":"audit.process_write_failed"' in logged
    assert "simulated outage" in logged


def _transactions_of_audit_rows(engine: Engine) -> list[int]:
    """PostgreSQL: how many rows each transaction wrote to the audit log, in seq order (the
    rows of one share an ``xmin``)."""
    with engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM audit_log GROUP BY xmin::text ORDER BY min(seq)"
        )
        return [int(n) for (n,) in found]


def test_a_batch_is_committed_a_few_records_per_transaction(engine: Engine) -> None:
    statements: list[str] = []
    commits: list[int] = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    event.listen(
        engine, "before_cursor_execute", lambda conn, cursor, sql, *_: statements.append(sql)
    )
    records = [record(n) for n in range(1, 2 * RECORDS_PER_TRANSACTION + 7)]

    EngineBatches(engine).write(records)

    rows = chain(engine)
    assert [row.record for row in rows] == records
    assert first_break(rows) is None
    # Never one transaction holding the chain's lock for them all.
    if engine.dialect.name == "postgresql":
        # Each part one statement in autocommit mode: its own transaction, no BEGIN/COMMIT
        # round trip of the writer while it holds the lock.
        inserts = [sql for sql in statements if sql.lstrip().startswith("INSERT INTO audit_log")]
        assert len(inserts) == 3
        assert not any(sql.strip().upper() in ("BEGIN", "COMMIT") for sql in statements)
        assert commits == []
        assert _transactions_of_audit_rows(engine) == [
            RECORDS_PER_TRANSACTION, RECORDS_PER_TRANSACTION, 6,
        ]  # fmt: skip
    else:
        assert len(commits) == 3


def test_a_part_refused_by_postgresql_writes_none_of_its_records(pg_url: str) -> None:
    engine = make_engine(pg_url)
    records = [record(n) for n in range(1, 2 * RECORDS_PER_TRANSACTION + 7)]
    refused = RECORDS_PER_TRANSACTION + 8  # in the second part
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION outage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'simulated outage'; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER outage BEFORE INSERT ON audit_log FOR EACH ROW "
            f"WHEN (NEW.quote_req_id = 'rfq-{refused}') EXECUTE FUNCTION outage()"
        )
    try:
        with pytest.raises(AuditWriteFailed, match="simulated outage") as failed:
            EngineBatches(engine).write(records)
        assert failed.value.written == RECORDS_PER_TRANSACTION
        # The refused part's statement left nothing behind: no row before the bad one.
        assert [row.record for row in chain(engine)] == records[:RECORDS_PER_TRANSACTION]
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER outage ON audit_log")
        EngineBatches(engine).write(records[failed.value.written :])
        rows = chain(engine)
    finally:
        engine.dispose()
    assert [row.record for row in rows] == records
    assert first_break(rows) is None


def test_a_batch_refused_part_way_says_how_many_records_the_child_committed(
    sqlite_url: str,
) -> None:
    engine = make_engine(sqlite_url)
    records = [record(n) for n in range(1, 2 * RECORDS_PER_TRANSACTION + 7)]
    refused = RECORDS_PER_TRANSACTION + 8  # in the second transaction
    _outage(engine, f"rfq-{refused}")
    batches = ProcessBatches(sqlite_url)
    try:
        with pytest.raises(AuditWriteFailed, match="simulated outage") as failed:
            batches.write(records)
        assert failed.value.written == RECORDS_PER_TRANSACTION
        assert [row.record for row in chain(engine)] == records[:RECORDS_PER_TRANSACTION]
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER outage")
        batches.write(records[failed.value.written :])
    finally:
        batches.close()
        engine.dispose()

    rows = chain(make_engine(sqlite_url))
    assert [row.record for row in rows] == records
    assert first_break(rows) is None


def test_a_killed_child_fails_its_batch_and_the_writer_retries_it_in_a_new_one(
    sqlite_url: str,
) -> None:
    engine = make_engine(sqlite_url)
    batches = ProcessBatches(sqlite_url)
    writer = AuditWriter(batches, linger_s=0.0)
    writer.start()
    try:
        writer.submit(record(1))
        _wait_until(lambda: len(chain(engine)) == 1)
        # Killed only once its commit is acknowledged: killed between its commit and its
        # answer, the child's batch is written again (duplicated, never lost: by design), and
        # under load that window was wide enough for this test to see four rows.
        _wait_until(lambda: writer.pending() == 0)
        first_child = batches.pid
        assert first_child is not None
        os.kill(first_child, signal.SIGKILL)
        _wait_until(lambda: _ended(first_child))
        with capture_logs() as events:
            writer.submit(record(2))
            writer.submit(record(3))
            _wait_until(lambda: len(chain(engine)) == 3)
        assert batches.pid not in (None, first_child)
    finally:
        writer.stop()
        engine.dispose()

    assert [row.record for row in chain(make_engine(sqlite_url))] == [
        record(1),
        record(2),
        record(3),
    ]
    failed = [e for e in events if e["event"] == "audit.write_failed"]
    assert failed
    assert failed[0]["log_level"] == "error"
    assert [e["event"] for e in events].count("audit.writer_process_started") == 1


def test_a_child_that_does_not_answer_in_time_is_replaced(sqlite_url: str) -> None:
    batches = ProcessBatches(sqlite_url, reply_timeout_s=2.0)
    try:
        batches.write([record(1)])
        stuck = batches.pid
        assert stuck is not None
        os.kill(stuck, signal.SIGSTOP)  # alive, silent
        with pytest.raises(AuditWriteFailed, match=r"no answer from the writer in 2\.0 s"):
            batches.write([record(2)])
        assert batches.pid is None
        assert _ended(stuck)
        batches.write([record(2)])
        assert batches.pid not in (None, stuck)
    finally:
        batches.close()
    assert [row.record for row in chain(make_engine(sqlite_url))] == [record(1), record(2)]


def test_the_child_ends_when_the_desks_end_of_the_pipe_closes(sqlite_url: str) -> None:
    batches = ProcessBatches(sqlite_url)
    batches.write([record(1)])
    child, pipe = batches._child, batches._pipe
    assert child is not None
    assert pipe is not None
    batches._child = batches._pipe = None
    pipe.close()
    assert child.wait(10) == 0  # raises TimeoutExpired if the child lingers


class _Unpicklable:
    """A deferred record whose portable form still cannot cross to another process."""

    def build(self) -> AuditRecord:
        return record(5)

    def portable(self) -> _Unpicklable:
        return self

    def __reduce__(self) -> str:
        raise TypeError("cannot pickle this record")

    def __repr__(self) -> str:
        return "_Unpicklable()"


def test_a_record_that_cannot_be_pickled_is_logged_and_its_batch_written_without_it(
    sqlite_url: str,
) -> None:
    batches = ProcessBatches(sqlite_url)
    try:
        with capture_logs() as events:
            batches.write([record(1), _Unpicklable(), record(2)])
    finally:
        batches.close()

    assert [row.record for row in chain(make_engine(sqlite_url))] == [record(1), record(2)]
    [failed] = [e for e in events if e["event"] == "audit.record_failed"]
    assert failed["record"] == "_Unpicklable()"


def test_portable_records_pickle_and_build_the_same_row() -> None:
    calls: list[int] = []

    def extra() -> dict[str, object]:
        calls.append(1)
        return {"pricing": {"tier": "gold"}}

    wire = FixWire("fix.out", _WIRE, "CLIENT1", _AT, extra)
    [moved] = portable([wire])

    assert pickle.loads(pickle.dumps(moved)).build() == wire.build()  # noqa: S301 - our own bytes
    assert moved.portable() is moved  # already computed: not computed again
    assert len(calls) == 2  # once for portable, once for the original's build above


def test_records_pickle_by_value_without_their_dataclass_state() -> None:
    wire = FixWire("fix.in", _WIRE, "CLIENT1", _AT)
    row = record(3)

    for item in (wire, row):
        payload = pickle.dumps(item)
        assert pickle.loads(payload) == item  # noqa: S301 - our own bytes
        # By value through the constructor, not as an object whose state is set afterwards
        # (a slotted dataclass's getstate walks its fields() for every record).
        assert "BUILD" not in {op.name for op, _, _ in pickletools.genops(payload)}


def test_a_record_whose_extra_fails_is_logged_and_left_out_of_the_batch() -> None:
    def broken() -> dict[str, object]:
        raise ValueError("no pricing")

    bad = FixWire("fix.out", _WIRE, "CLIENT1", _AT, broken)
    with capture_logs() as events:
        items = portable([record(1), bad, record(2)])

    assert items == [record(1), record(2)]
    [failed] = [e for e in events if e["event"] == "audit.record_failed"]
    assert failed["log_level"] == "error"
    assert "fix.out" in failed["record"]


def test_the_desk_writes_in_a_child_unless_the_database_lives_in_its_process(
    sqlite_url: str,
) -> None:
    engine = make_engine("sqlite://")
    try:
        assert isinstance(batches_for("sqlite://", engine), EngineBatches)
        assert isinstance(batches_for("sqlite:///:memory:", engine), EngineBatches)
        assert isinstance(batches_for(sqlite_url, engine), ProcessBatches)
        assert isinstance(batches_for("postgresql+psycopg://x@127.0.0.1/y", engine), ProcessBatches)
    finally:
        engine.dispose()


def _ended(pid: int) -> bool:
    """The process has exited (reaped, or a zombie waiting for its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _wait_until(condition: object, timeout: float = 10.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_child_that_cannot_open_the_database_fails_the_batch_with_its_reason() -> None:
    batches = ProcessBatches("mysql://nobody@127.0.0.1/nothing", start_timeout_s=30)
    with pytest.raises(AuditWriteFailed, match="could not start: ValueError: unsupported"):
        batches.write([record(1)])
    assert batches.pid is None
