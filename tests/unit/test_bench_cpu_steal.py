"""The runner's CPU steal figure: the stolen share of all CPU time between two readings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import cpu_steal
from bench.cpu_steal import cpu_times, steal_pct


def test_steal_pct_is_the_stolen_share_of_the_interval() -> None:
    assert steal_pct((100, 1000), (150, 1200)) == 25.0
    assert steal_pct((100, 1000), (100, 1000)) is None  # no time passed
    assert steal_pct(None, (1, 2)) is None


def test_cpu_times_reads_steal_from_the_aggregate_cpu_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  10 0 5 70 1 0 2 12 3 0\ncpu0 5 0 2 35 0 0 1 6 1 0\n", encoding="ascii")
    monkeypatch.setattr(cpu_steal, "_PROC_STAT", stat)
    assert cpu_times() == (12, 100)
    monkeypatch.setattr(cpu_steal, "_PROC_STAT", tmp_path / "missing")
    assert cpu_times() is None
