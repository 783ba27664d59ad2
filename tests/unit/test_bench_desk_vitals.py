"""The benchmark reads the desk's desk.vitals lines of its steady run back from the log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.desk_vitals import python_blocks_figures, vitals_between

START = datetime(2026, 12, 5, 20, 0, 0, tzinfo=UTC)


def _line(event: str, at: datetime, **fields: object) -> str:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps({**fields, "event": event, "level": "info", "ts": stamp})


def test_only_the_vitals_stamped_inside_the_run_are_read(tmp_path: Path) -> None:
    log = tmp_path / "desk.log"
    lines = [
        _line("desk.vitals", START - timedelta(seconds=1), python_blocks=1),  # before
        _line("quote.sent", START + timedelta(seconds=1), quote_id="Q1"),
        '{"event": "desk.vitals", "ts": "not json',  # a torn line
        "plain text mentioning desk.vitals",
        _line("desk.vitals", START + timedelta(seconds=30), python_blocks=100),
        _line("desk.vitals", START + timedelta(seconds=60), python_blocks=101),
        _line("desk.vitals", START + timedelta(seconds=91), python_blocks=7),  # after
    ]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")

    found = vitals_between(log, START, START + timedelta(seconds=90))

    assert [event["python_blocks"] for event in found] == [100, 101]


def test_growth_is_reported_overall_and_over_the_second_half() -> None:
    samples = [{"python_blocks": n} for n in (1000, 1400, 1500, 1500, 1502)]

    figures = python_blocks_figures(samples, 30)

    assert figures["desk_python_blocks_samples"] == 5
    assert figures["desk_python_blocks_before_steady"] == 1000
    assert figures["desk_python_blocks_steady_every_30_s"] == [0, 400, 500, 500, 502]
    assert figures["desk_python_blocks_growth_steady"] == 502
    # The middle sample is the third: a leak would grow here as in the first half.
    assert figures["desk_python_blocks_growth_steady_second_half"] == 2


def test_too_few_samples_report_only_their_count() -> None:
    assert python_blocks_figures([{"python_blocks": 5}], 30) == {"desk_python_blocks_samples": 1}
