"""The benchmark's maximum-rate ladder: desk and baseline stepped up together."""

from __future__ import annotations

from typing import Any

import pytest

from bench.runner import Failed, StepRun, max_rates, step_sustained


def _result(
    rate: int, p99_us: float, *, unanswered: int = 0, wrong: int = 0, achieved: float | None = None
) -> dict[str, Any]:
    # 100 samples: the nearest-rank p99 is the 99th.
    samples = [100.0] * 98 + [p99_us, p99_us]
    return {
        "samples_us": samples,
        "unanswered": unanswered,
        "wrong": wrong,
        "achieved_rate_per_s": rate if achieved is None else achieved,
        "first_wrong": ["35=AG"] if wrong else [],
    }


def _side(name: str, calls: list[tuple[str, int]], limit: int) -> StepRun:
    """A side that sustains every rate up to ``limit`` (p99 1 ms) and misses above it."""

    def run(rate: int) -> dict[str, Any]:
        calls.append((name, rate))
        return _result(rate, 1_000.0 if rate <= limit else 9_000.0)

    return run


def test_sides_step_up_together_in_alternating_order_until_each_misses() -> None:
    calls: list[tuple[str, int]] = []
    best = max_rates(
        [500, 1000, 1500, 2000, 2500],
        {"desk": _side("desk", calls, 1000), "baseline": _side("baseline", calls, 2000)},
    )
    assert best == {
        "desk": {"rate_per_s": 1000, "p99_us": 1000.0},
        "baseline": {"rate_per_s": 2000, "p99_us": 1000.0},
    }
    # Each rate is run on every side still sustaining, before the next rate; the order
    # alternates; a side that missed is not run again; the ladder ends when all have missed.
    assert calls == [
        ("desk", 500),
        ("baseline", 500),
        ("baseline", 1000),
        ("desk", 1000),
        ("desk", 1500),
        ("baseline", 1500),
        ("baseline", 2000),
        ("baseline", 2500),
    ]


def test_a_side_that_misses_the_first_step_has_no_rate() -> None:
    calls: list[tuple[str, int]] = []
    best = max_rates([500, 1000], {"desk": _side("desk", calls, 0)})
    assert best == {"desk": {"rate_per_s": 0, "p99_us": None}}
    assert calls == [("desk", 500)]


def test_a_wrong_answer_fails_the_benchmark() -> None:
    with pytest.raises(Failed, match="desk at 500/s: 1 wrong answers"):
        max_rates([500], {"desk": lambda rate: _result(rate, 100.0, wrong=1)})


@pytest.mark.parametrize(
    ("result", "sustained"),
    [
        (_result(1000, 4_999.0), True),
        (_result(1000, 5_000.0), False),  # p99 must stay under 5 ms
        (_result(1000, 100.0, unanswered=1), False),
        (_result(1000, 100.0, achieved=949.0), False),  # the client fell behind the rate
        (_result(1000, 100.0, achieved=950.0), True),
        ({"samples_us": [], "unanswered": 0, "achieved_rate_per_s": 1000.0}, False),
    ],
)
def test_a_step_is_sustained_only_if_all_answered_on_time_at_the_rate(
    result: dict[str, Any], sustained: bool
) -> None:
    step = step_sustained(result, 1000)
    assert (step is not None) is sustained
    if step is not None:
        assert step["rate_per_s"] == 1000
