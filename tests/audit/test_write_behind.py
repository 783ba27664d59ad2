"""The write-behind queue: batched, ordered, retried, and nothing lost on a clean stop."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine
from structlog.testing import capture_logs

from desk.audit.batch_writers import RECORDS_PER_TRANSACTION, EngineBatches
from desk.audit.chain import first_break
from desk.audit.record import AuditRecord
from desk.audit.write_behind import AuditWriter
from tests.audit.chain_rows import chain, record


def _wait_for_rows(engine: Engine, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(chain(engine)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} rows after {timeout} s"
        time.sleep(0.01)


def test_stop_when_records_queued_then_every_record_is_written_in_order(engine: Engine) -> None:
    # Only stop() makes it write.
    writer = AuditWriter(EngineBatches(engine), max_batch=7, linger_s=10.0)
    writer.start()
    records = [record(n) for n in range(1, 101)]
    for r in records:
        writer.submit(r)

    writer.stop()

    rows = chain(engine)
    assert [row.record for row in rows] == records
    assert first_break(rows) is None
    assert writer.pending() == 0


def test_submit_when_running_then_written_within_the_linger_time(engine: Engine) -> None:
    writer = AuditWriter(EngineBatches(engine), linger_s=0.02)
    writer.start()
    try:
        started = time.monotonic()
        writer.submit(record(1))
        writer.submit(record(2))
        _wait_for_rows(engine, 2)
        assert time.monotonic() - started < 1.0
    finally:
        writer.stop()
    assert [row.record.quote_req_id for row in chain(engine)] == ["rfq-1", "rfq-2"]


def test_stop_when_never_started_then_drains_on_the_caller(engine: Engine) -> None:
    writer = AuditWriter(EngineBatches(engine))
    writer.submit(record(1))

    writer.stop()

    assert [row.record for row in chain(engine)] == [record(1)]


def test_write_when_database_refuses_then_logged_and_retried_until_written(
    sqlite_url: str,
) -> None:
    from desk.ledger.database import make_engine

    engine = make_engine(sqlite_url)
    with engine.begin() as conn:  # the database refuses audit rows for a while
        conn.exec_driver_sql(
            "CREATE TRIGGER outage BEFORE INSERT ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'simulated outage'); END"
        )
    writer = AuditWriter(EngineBatches(engine), linger_s=0.0)
    try:
        with capture_logs() as events:
            writer.start()
            writer.submit(record(1))
            writer.submit(record(2))
            deadline = time.monotonic() + 5
            while sum(e["event"] == "audit.write_failed" for e in events) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert writer.pending() == 2
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TRIGGER outage")
            _wait_for_rows(engine, 2)
        writer.stop()
        assert [row.record for row in chain(engine)] == [record(1), record(2)]
        failure = next(e for e in events if e["event"] == "audit.write_failed")
        assert failure["log_level"] == "error"
        assert failure["records"] >= 1
    finally:
        engine.dispose()


def test_write_when_refused_part_way_then_retried_from_the_first_record_not_committed(
    sqlite_url: str,
) -> None:
    from desk.ledger.database import make_engine

    engine = make_engine(sqlite_url)
    records = [record(n) for n in range(1, 2 * RECORDS_PER_TRANSACTION + 7)]
    refused = records[RECORDS_PER_TRANSACTION + 8].quote_req_id  # in the second transaction
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TRIGGER outage BEFORE INSERT ON audit_log WHEN NEW.quote_req_id = "
            f"'{refused}' BEGIN SELECT RAISE(ABORT, 'simulated outage'); END"
        )
    writer = AuditWriter(EngineBatches(engine), linger_s=0.0)
    for r in records:  # queued before the writer starts: its first batch holds them all
        writer.submit(r)
    try:
        with capture_logs() as events:
            writer.start()
            deadline = time.monotonic() + 5
            while not any(e["event"] == "audit.write_failed" for e in events):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            failure = next(e for e in events if e["event"] == "audit.write_failed")
            assert failure["written"] == RECORDS_PER_TRANSACTION
            assert failure["records"] == len(records) - RECORDS_PER_TRANSACTION
            assert writer.pending() == len(records) - RECORDS_PER_TRANSACTION
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TRIGGER outage")
            _wait_for_rows(engine, len(records))
        writer.stop()
        rows = chain(engine)
        assert [row.record for row in rows] == records  # each once, in order
        assert first_break(rows) is None
    finally:
        engine.dispose()


def test_stop_when_database_stays_down_then_each_record_is_logged(sqlite_url: str) -> None:
    from desk.ledger.database import make_engine

    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER outage BEFORE INSERT ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'simulated outage'); END"
        )
    writer = AuditWriter(EngineBatches(engine), stop_timeout_s=0.2)
    try:
        with capture_logs() as events:
            writer.submit(record(1))
            writer.stop()
    finally:
        engine.dispose()

    lost = [e for e in events if e["event"] == "audit.record_not_written"]
    assert [(e["quote_req_id"], e["body"], e["log_level"]) for e in lost] == [
        ("rfq-1", record(1).body, "error")
    ]
    assert events[-1] == {"event": "audit.records_not_written", "records": 1, "log_level": "error"}


class _Deferred:
    """A deferred record: built on the writer's thread, or failing there."""

    def __init__(self, n: int | None) -> None:
        self.n = n
        self.built_on: list[str] = []

    def build(self) -> AuditRecord:
        self.built_on.append(threading.current_thread().name)
        if self.n is None:
            raise ValueError("cannot build this one")
        return record(self.n)

    def portable(self) -> _Deferred:
        return self

    def __repr__(self) -> str:
        return f"_Deferred({self.n})"


def test_deferred_records_when_one_cannot_be_built_then_it_alone_is_dropped_and_logged(
    engine: Engine,
) -> None:
    writer = AuditWriter(EngineBatches(engine), linger_s=0.01)
    first, broken, last = _Deferred(1), _Deferred(None), _Deferred(2)
    writer.start()
    try:
        with capture_logs() as logs:
            for item in (first, broken, record(3), last):
                writer.submit(item)
            _wait_for_rows(engine, 3)
    finally:
        writer.stop()

    assert [row.record for row in chain(engine)] == [record(1), record(3), record(2)]
    assert first.built_on == ["audit-writer"]  # not the submitting thread
    [failed] = [e for e in logs if e["event"] == "audit.record_failed"]
    assert failed["record"] == "_Deferred(None)"
    assert failed["log_level"] == "error"
