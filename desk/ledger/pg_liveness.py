"""Replacing dead PostgreSQL connections at checkout without a round trip to the server.

SQLAlchemy's ``pool_pre_ping`` sends a statement on every checkout and waits for the answer:
on the booking path that is a second round trip per trade, and it was about a fifth of the
ledger's CPU per booking. A connection the server has dropped (a restart, an administrator's
``pg_terminate_backend``, an idle timeout) tells us so on its socket: the server sends its
last message and closes, so the socket of an idle connection becomes readable. Nothing else
arrives unasked on an idle connection of this desk (it never LISTENs), so a readable idle
socket, or a connection psycopg already knows is broken, is replaced before it is used:
raising ``DisconnectionError`` from a checkout listener makes the pool discard the connection
and hand out a fresh one.

What this cannot see is a peer that vanished without closing (a host that lost power, a
firewall dropping state). A pre-ping would then block on TCP as well; the statement fails,
SQLAlchemy sees the disconnect and invalidates the pool, and the next checkout connects anew.
"""

from __future__ import annotations

import select
from typing import Any

from psycopg import Connection
from psycopg.pq import ConnStatus, TransactionStatus
from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

__all__ = ["connection_problem", "replace_dead_connections"]


def connection_problem(conn: Connection[Any]) -> str | None:
    """Why ``conn``, idle in the pool, cannot be used; None if nothing says so."""
    if conn.closed:
        return "closed"
    if conn.pgconn.status != ConnStatus.OK:
        return "broken"
    if conn.info.transaction_status != TransactionStatus.IDLE:
        return f"not idle ({conn.info.transaction_status.name})"
    # poll, not select: a long-running desk may hold descriptors above select's 1024.
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        return "the server sent data or closed the connection while it was idle"
    return None


def replace_dead_connections(engine: Engine) -> None:
    """Check every connection ``engine``'s pool hands out; a dead one is replaced."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        problem = connection_problem(dbapi_connection)
        if problem is not None:
            raise DisconnectionError(f"connection replaced at checkout: {problem}")
