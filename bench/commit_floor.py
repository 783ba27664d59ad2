"""The durable-commit floor of this machine, measured in the run it explains.

Accept → Fill cannot be faster than one durable commit of a trade, and on a virtual disk the
cost of a flush changes from day to day (here: p99 from under 1 ms to over 40 ms). So the
benchmark measures it beside the desk's figures, with the desk's settings: one transaction
per trade holding one trade row and four posting rows, SQLite in WAL mode with
synchronous=FULL, PostgreSQL with synchronous_commit=on, commits paced ``pause_s`` apart as
a closed loop of orders paces them (back-to-back flushes are cheaper than isolated ones).
Only the driver is timed: no SQLAlchemy, no desk code.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from bench.stats import summary

_TRADE = "INSERT INTO bench_floor_trade (payload) VALUES (?)"
_POSTING = "INSERT INTO bench_floor_posting (trade_id, account, asset, amount) VALUES (?, ?, ?, ?)"
_LINES = (("client", "BTC", "-0.01"), ("desk", "BTC", "0.01"), ("client", "USDT", "650.12"),
          ("desk", "USDT", "-650.12"))  # fmt: skip
_PAYLOAD = "x" * 200


def sqlite_floor(path: Path, count: int, pause_s: float) -> dict[str, float]:
    """Commit latency of ``count`` trades into a fresh SQLite file at ``path``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE bench_floor_trade (id INTEGER PRIMARY KEY, payload TEXT)")
        conn.execute(
            "CREATE TABLE bench_floor_posting (trade_id INTEGER, account TEXT, asset TEXT, "
            "amount TEXT)"
        )
        samples = []
        for _ in range(count):
            start = time.perf_counter_ns()
            conn.execute("BEGIN")
            trade_id = conn.execute(_TRADE, (_PAYLOAD,)).lastrowid
            conn.executemany(_POSTING, [(trade_id, *line) for line in _LINES])
            conn.execute("COMMIT")
            samples.append((time.perf_counter_ns() - start) / 1000)
            time.sleep(pause_s)
    finally:
        conn.close()
    return summary(samples)


def pg_floor(url: str, count: int, pause_s: float) -> dict[str, float]:
    """Commit latency of ``count`` trades into temporary tables of the database at ``url``."""
    parsed = make_url(url).set(drivername="postgresql")
    with psycopg.connect(parsed.render_as_string(hide_password=False)) as conn:
        conn.execute("SET synchronous_commit = on")
        # Ordinary tables (temporary ones are never flushed); the database is the run's own.
        conn.execute("CREATE TABLE bench_floor_trade (id bigserial PRIMARY KEY, payload text)")
        conn.execute(
            "CREATE TABLE bench_floor_posting (trade_id bigint, account text, asset text, "
            "amount numeric)"
        )
        conn.commit()
        trade = _TRADE.replace("?", "%s") + " RETURNING id"
        posting = _POSTING.replace("?", "%s")
        samples = []
        for _ in range(count):
            start = time.perf_counter_ns()
            with conn.cursor() as cur:
                cur.execute(trade, (_PAYLOAD,))
                row = cur.fetchone()
                assert row is not None  # noqa: S101 - RETURNING always gives the row
                cur.executemany(posting, [(row[0], *line) for line in _LINES])
            conn.commit()
            samples.append((time.perf_counter_ns() - start) / 1000)
            time.sleep(pause_s)
        conn.execute("DROP TABLE bench_floor_posting, bench_floor_trade")
        conn.commit()
    return summary(samples)
