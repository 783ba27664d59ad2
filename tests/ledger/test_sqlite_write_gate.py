"""In-process SQLite writers queue on the write gate, released when their transaction ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from desk.ledger.database import make_engine
from desk.ledger.sqlite_write_gate import GatedConnection


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
