"""The hedger's process as the desk runs it, when the child cannot start: the desk keeps
trying, never blocks on a wake-up, and stops at once. (A child that hedges is in
tests/e2e/test_hedging.py.)"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from structlog.testing import capture_logs

from desk.config.model import DeskConfig
from desk.hedging.own_process import HedgerProcess


def _never(_: str, __: Decimal) -> None:
    raise AssertionError("no hedger ran, so none can report a position")


def test_a_child_that_dies_at_once_is_started_again_and_stop_is_prompt(
    shipped_config: DeskConfig,
) -> None:
    started: list[float] = []

    def dies(pipe_fd: int, wake_fd: int) -> list[str]:
        started.append(time.monotonic())
        return [sys.executable, "-c", "import sys; sys.exit(3)"]

    hedger = HedgerProcess(shipped_config, _never, restart_min_s=0.05, command=dies)
    with capture_logs() as logs:
        hedger.start()
        hedger.notify("BTC/USDT")  # no child to wake: dropped, never blocks or raises
        deadline = time.monotonic() + 20
        while len(started) < 3 and time.monotonic() < deadline:
            hedger.notify("BTC/USDT")
            time.sleep(0.02)
        assert not hedger.wait_ready(0)
        begun = time.monotonic()
        hedger.stop()
        assert time.monotonic() - begun < 5
    assert len(started) >= 3
    assert started[2] - started[1] >= 2 * 0.05 * 0.9  # the wait doubles while it fails
    failed = [e for e in logs if e["event"] == "hedge.process_start_failed"]
    assert failed
    assert failed[0]["reason"] == "it exited before it was ready"
    exits = [e for e in logs if e["event"] == "hedge.process_exited"]
    assert exits[0]["exit_code"] == 3
    assert exits[0]["was_ready"] is False
    assert exits[0]["log_level"] == "error"


def test_a_child_that_cannot_open_the_ledger_says_why(
    shipped_config: DeskConfig, tmp_path: Path
) -> None:
    config = replace(shipped_config, database_url=f"sqlite:///{tmp_path}/ledger.db")
    hedger = HedgerProcess(config, _never, restart_min_s=30)
    with capture_logs() as logs:
        hedger.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            e["event"] == "hedge.process_start_failed" for e in logs
        ):
            time.sleep(0.05)
        hedger.stop()
    [failed] = [e for e in logs if e["event"] == "hedge.process_start_failed"]
    assert "no such table: fills" in failed["reason"]  # a ledger never migrated
