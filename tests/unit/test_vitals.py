"""desk.vitals: the desk's memory, threads and backlog in one line, on a schedule."""

from __future__ import annotations

import threading
import time

from structlog.testing import capture_logs

from desk.clock import SystemClock
from desk.vitals import VitalsLog, rss_kib


def test_a_vitals_line_carries_memory_threads_and_backlog() -> None:
    vitals = VitalsLog(60, lambda: 7, lambda: 3, SystemClock())
    with capture_logs() as logs:
        vitals.log_once()
    (event,) = logs
    assert event["event"] == "desk.vitals"
    assert event["quotes_held"] == 7
    assert event["audit_pending"] == 3
    assert event["threads"] == threading.active_count()
    rss = event["rss_kib"]
    assert isinstance(rss, int)
    assert rss > 1024  # this interpreter holds megabytes
    assert isinstance(event["python_blocks"], int)
    assert event["python_blocks"] > 1000


def test_python_blocks_follow_objects_held() -> None:
    vitals = VitalsLog(60, lambda: 0, lambda: 0, SystemClock())
    with capture_logs() as logs:
        vitals.log_once()
        held = [object() for _ in range(50_000)]
        vitals.log_once()
        del held
        vitals.log_once()
    before, during, after = (event["python_blocks"] for event in logs)
    assert during - before >= 50_000
    assert after - before < 5_000


def test_vitals_are_logged_on_their_schedule_and_stop() -> None:
    vitals = VitalsLog(1, lambda: 0, lambda: 0, SystemClock())
    with capture_logs() as logs:
        vitals.start()
        deadline = time.monotonic() + 5
        while not logs and time.monotonic() < deadline:
            time.sleep(0.05)
        vitals.stop()
        seen = len(logs)
        time.sleep(1.2)
    assert seen >= 1
    assert len(logs) == seen  # nothing after stop
    assert all(event["event"] == "desk.vitals" for event in logs)


def test_an_interval_of_zero_logs_nothing() -> None:
    vitals = VitalsLog(0, lambda: 0, lambda: 0, SystemClock())
    with capture_logs() as logs:
        vitals.start()
        time.sleep(0.1)
        vitals.stop()
    assert logs == []


def test_a_failing_figure_is_logged_not_raised() -> None:
    def broken() -> int:
        raise RuntimeError("quote book gone")

    vitals = VitalsLog(60, broken, lambda: 0, SystemClock())
    with capture_logs() as logs:
        vitals.log_once()
    assert [event["event"] for event in logs] == ["desk.vitals_failed"]


def test_rss_is_read_from_proc() -> None:
    first = rss_kib()
    assert first is not None
    assert first > 0
