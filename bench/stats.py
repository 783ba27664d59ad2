"""Latency percentiles (nearest-rank) in microseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9))


def percentile(sorted_us: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    if not sorted_us:
        raise ValueError("no samples")
    rank = max(1, math.ceil(pct / 100 * len(sorted_us)))
    return sorted_us[rank - 1]


def summary(samples_us: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max of ``samples_us``, rounded to 0.1 µs."""
    ordered = sorted(samples_us)
    out = {name: round(percentile(ordered, pct), 1) for name, pct in PERCENTILES}
    out["max"] = round(ordered[-1], 1)
    return out
