"""SQLite writers queue on the file's write gate, released when their transaction ends."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from desk.ledger.database import make_engine
from desk.ledger.sqlite_write_gate import GatedConnection, GateTimeout, WriteGate


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def _holds_gate(conn: Connection) -> bool:
    raw = conn.connection.dbapi_connection
    assert isinstance(raw, GatedConnection)
    return raw.holds_gate


def test_a_write_takes_the_gate_until_commit_and_a_read_never_does(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar_one()
        assert not _holds_gate(conn)
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert _holds_gate(conn)
        conn.commit()
        assert not _holds_gate(conn)


def test_a_rolled_back_write_releases_the_gate(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert _holds_gate(conn)
        conn.rollback()
        assert not _holds_gate(conn)
    with engine.begin() as conn:  # would wait forever on a leaked gate
        conn.execute(text("INSERT INTO t VALUES (2)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [2]


def test_a_second_writer_waits_on_the_gate_until_the_first_commits(
    engine: Engine,
) -> None:
    first_wrote = threading.Event()
    second_done: list[float] = []

    def second() -> None:
        first_wrote.wait(5)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        second_done.append(time.monotonic())

    worker = threading.Thread(target=second)
    worker.start()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        first_wrote.set()
        time.sleep(0.3)  # the second writer is queued on the gate meanwhile
        assert not second_done
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, GatedConnection)
        probe: list[bool] = []
        prober = threading.Thread(target=lambda: probe.append(raw.gate.acquire(blocking=False)))
        prober.start()
        prober.join(5)
        assert probe == [False]  # held by this transaction for every other thread
    worker.join(5)

    assert second_done
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t ORDER BY rowid")).scalars().all() == [1, 2]


def test_engines_of_one_file_share_its_gate_and_another_file_has_its_own(
    tmp_path: Path, engine: Engine
) -> None:
    other = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    elsewhere = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        gates = []
        for each in (engine, other, elsewhere):
            with each.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert isinstance(raw, GatedConnection)
                gates.append(raw.gate)
    finally:
        other.dispose()
        elsewhere.dispose()
    assert gates[0] is gates[1]
    assert gates[2] is not gates[0]
    assert gates[0].lock_path == (tmp_path / "gate.db-write.lock").resolve()


def test_a_transaction_holds_the_files_lock_against_other_processes_until_it_ends(
    tmp_path: Path, engine: Engine
) -> None:
    # Another process's gate is another open file on the same lock file: flock excludes it.
    stranger = WriteGate((tmp_path / "gate.db-write.lock").resolve())
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not stranger.acquire(blocking=False)
        conn.execute(text("INSERT INTO t VALUES (2)"))  # the same transaction: still one hold
        conn.commit()
    assert stranger.acquire(blocking=False)
    stranger.release()


def test_the_file_lock_is_taken_once_and_released_by_the_outermost_release(
    tmp_path: Path,
) -> None:
    gate = WriteGate(tmp_path / "x.db-write.lock")
    stranger = WriteGate(tmp_path / "x.db-write.lock")
    assert gate.acquire()
    assert gate.acquire()  # reentrant for this thread
    gate.release()
    assert not stranger.acquire(blocking=False)
    gate.release()
    assert stranger.acquire(blocking=False)
    assert not gate.acquire(blocking=False)
    stranger.release()


def test_a_file_lock_held_elsewhere_is_waited_for_then_refused_after_the_timeout(
    tmp_path: Path,
) -> None:
    stranger = WriteGate(tmp_path / "x.db-write.lock")
    patient = WriteGate(tmp_path / "x.db-write.lock", timeout_s=30)
    gate = WriteGate(tmp_path / "x.db-write.lock", timeout_s=0.3)
    held = threading.Event()

    def hold_briefly() -> None:
        assert stranger.acquire()
        held.set()
        time.sleep(0.1)
        stranger.release()

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    assert held.wait(5)
    started = time.monotonic()
    assert patient.acquire()  # in once the other holder lets go
    waited = time.monotonic() - started
    patient.release()
    holder.join()
    assert waited > 0.05

    assert stranger.acquire()
    started = time.monotonic()
    with pytest.raises(GateTimeout, match="database is locked: another process held"):
        gate.acquire()
    assert time.monotonic() - started >= 0.3
    assert isinstance(GateTimeout("x"), sqlite3.OperationalError)  # what callers catch
    # Nothing half-taken is left behind: the gate is free for this process's threads.
    stranger.release()
    assert gate.acquire(blocking=False)
    gate.release()


_HOLDER = """
import sys, time
from sqlalchemy import text
from desk.ledger.database import make_engine
engine = make_engine(sys.argv[1])
with engine.begin() as conn:
    conn.execute(text("INSERT INTO t VALUES (1)"))
    print("held", flush=True)
    time.sleep(0.5)
print("committed", flush=True)
"""


def test_a_writer_in_another_process_waits_for_this_ones_commit_not_sqlites_busy_handler(
    tmp_path: Path, engine: Engine
) -> None:
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    holder = subprocess.Popen(  # noqa: S603 - this interpreter, a script of this test
        [sys.executable, "-c", _HOLDER, url], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        waited = time.monotonic() - started
    finally:
        assert holder.wait(10) == 0
    assert holder.stdout.readline() == "committed\n"
    assert waited > 0.2  # queued behind the other process's transaction
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t ORDER BY rowid")).scalars().all() == [1, 2]
