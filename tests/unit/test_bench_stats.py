"""The benchmark's percentile arithmetic (nearest rank)."""

from __future__ import annotations

import pytest

from bench.stats import percentile, summary


def test_nearest_rank_percentiles() -> None:
    samples = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile(samples, 99.9) == 100.0
    assert percentile([7.0], 50) == 7.0


def test_summary_sorts_and_reports_max() -> None:
    assert summary([3.0, 1.0, 2.0]) == {"p50": 2.0, "p90": 3.0, "p99": 3.0, "p999": 3.0, "max": 3.0}


def test_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
