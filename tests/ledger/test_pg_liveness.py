"""Dead PostgreSQL connections are replaced at checkout, with no round trip for live ones."""

from __future__ import annotations

import os
import resource
import select
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, event, text

from desk.ledger.database import make_engines
from desk.ledger.pg_liveness import connection_problem

pytestmark = pytest.mark.postgres


def _terminate(pg_url: str, backend_pid: int) -> None:
    """Ask the server, from another connection, to end the backend ``backend_pid``."""
    conninfo = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))


def _wait_readable(conn: psycopg.Connection[object]) -> None:
    """Until the server's goodbye has reached the socket (bounded)."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    poller.poll(5000)


@pytest.fixture
def engines(pg_url: str) -> Iterator[tuple[Engine, Engine]]:
    pair = make_engines(pg_url)
    yield pair.durable, pair.deferred
    pair.dispose()


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


@pytest.mark.parametrize("which", ["durable", "deferred"])
def test_a_terminated_backend_is_replaced_before_use(
    engines: tuple[Engine, Engine], pg_url: str, which: str
) -> None:
    engine = engines[0] if which == "durable" else engines[1]
    with engine.connect() as conn:
        first_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        raw = conn.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    _terminate(pg_url, first_pid)
    _wait_readable(raw)
    assert connection_problem(raw) is not None
    # The pool hands out the same slot again; it must not be the dead connection.
    with engine.connect() as conn:
        second_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert second_pid != first_pid


def test_a_live_connection_is_checked_out_without_a_statement(
    engines: tuple[Engine, Engine],
) -> None:
    engine = engines[0]
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        raw = conn.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    assert connection_problem(raw) is None
    seen = _statements(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT 2"))
    assert seen == ["SELECT 2"]  # no ping before it


def test_connection_problem_names_closed_and_busy_connections(pg_url: str) -> None:
    conninfo = pg_url.replace("postgresql+psycopg://", "postgresql://")
    conn = psycopg.connect(conninfo)
    try:
        conn.execute("SELECT 1")  # not autocommit: a transaction is now open
        assert connection_problem(conn) == "not idle (INTRANS)"
        conn.rollback()
        assert connection_problem(conn) is None
    finally:
        conn.close()
    assert connection_problem(conn) == "closed"


def test_the_next_statement_after_the_server_dropped_every_connection_succeeds(
    engines: tuple[Engine, Engine], pg_url: str
) -> None:
    """As after a database restart: every pooled connection is gone, the next use works."""
    engine = engines[0]
    conns = [engine.connect() for _ in range(3)]
    pids = [c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in conns]
    raws = [c.connection.dbapi_connection for c in conns]
    for c in conns:
        c.close()
    for pid in pids:
        _terminate(pg_url, pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        isinstance(r, psycopg.Connection) and connection_problem(r) is None for r in raws
    ):
        time.sleep(0.01)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar_one() == 42


def test_a_connection_on_a_descriptor_above_1024_is_checked(pg_url: str) -> None:
    """select() refuses descriptors above FD_SETSIZE; a long-running desk can have them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.fail(f"the test needs 1100 descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    conninfo = pg_url.replace("postgresql+psycopg://", "postgresql://")
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1030)]
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
        try:
            assert conn.fileno() > 1024
            assert connection_problem(conn) is None
            _terminate(pg_url, conn.info.backend_pid)
            _wait_readable(conn)
            assert connection_problem(conn) is not None
        finally:
            conn.close()
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
