"""The benchmark's durable-commit floor probe: every commit is timed, and it leaves nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, inspect

from bench.commit_floor import pg_floor, sqlite_floor


def test_sqlite_floor_times_each_trade_commit_in_wal_full(tmp_path: Path) -> None:
    path = tmp_path / "floor.db"
    figures = sqlite_floor(path, 20, 0.0)
    assert set(figures) == {"p50", "p90", "p99", "p999", "max"}
    assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT count(*) FROM bench_floor_trade").fetchone() == (20,)
        assert conn.execute("SELECT count(*) FROM bench_floor_posting").fetchone() == (80,)


def test_pg_floor_commits_then_drops_its_tables(pg_url: str) -> None:
    figures = pg_floor(pg_url, 20, 0.0)
    assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    engine = create_engine(pg_url)
    try:
        assert not {"bench_floor_trade", "bench_floor_posting"} & set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
