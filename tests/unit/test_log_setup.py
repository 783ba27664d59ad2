"""JSON log lines: one object per line, stable names, anything a desk event carries encodable."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import structlog

from desk.domain.side import Side
from desk.log_setup import configure_logging


@dataclass(frozen=True)
class _Terms:
    qty: Decimal


class _Custom:
    def __structlog__(self) -> str:
        return "custom-form"


def test_json_lines_encode_every_value_an_event_carries() -> None:
    out = io.StringIO()
    configure_logging("json", "info", stream=out)
    structlog.get_logger("desk.test").bind(counterparty="CLIENT1").info(
        "quote.sent",
        qty="0.01",
        side=Side.BUY,
        at=datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC),
        excluded={"sim-b": "stale"},
        by_id={7: "seven"},
        terms=_Terms(Decimal("1.5")),
        raw=Decimal("2.50"),
        custom=_Custom(),
        text="Ünïcode ✓",
    )
    structlog.get_logger("desk.test").debug("not.shown")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["event"] == "quote.sent"
    assert event["level"] == "info"
    assert event["ts"].endswith("Z")
    assert event["counterparty"] == "CLIENT1"
    assert event["side"] == "BUY"
    assert event["at"] == "2026-11-21T12:00:00.123456+00:00"
    assert event["excluded"] == {"sim-b": "stale"}
    assert event["by_id"] == {"7": "seven"}
    # Objects with no JSON form are shown as structlog shows them: repr, or __structlog__.
    assert event["terms"] == "_Terms(qty=Decimal('1.5'))"
    assert event["raw"] == "Decimal('2.50')"
    assert event["custom"] == "custom-form"
    assert event["text"] == "Ünïcode ✓"


def test_what_orjson_refuses_is_still_logged() -> None:
    out = io.StringIO()
    configure_logging("json", "info", stream=out)
    structlog.get_logger("desk.test").info("big.number", seq=2**70)
    assert json.loads(out.getvalue())["seq"] == 2**70


_WRITER = """
import structlog, sys
from desk.log_setup import configure_logging
configure_logging("json", "info", process=sys.argv[1])
log = structlog.get_logger("desk.test")
for n in range(2000):
    log.info("line.written", n=n, padding="x" * 300)
"""


def test_lines_of_processes_sharing_stdout_never_run_together(tmp_path: Path) -> None:
    """The desk, its audit writer and its hedger write to one stdout at once."""
    out = tmp_path / "desk.log"
    # Unbuffered, as on these machines and in most containers: print() then writes a line
    # and its newline separately.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with out.open("wb") as shared:
        writers = [
            subprocess.Popen(  # noqa: S603 - this interpreter, the script above
                [sys.executable, "-c", _WRITER, name], stdout=shared, env=env
            )
            for name in ("desk", "hedger", "audit")
        ]
        for writer in writers:
            assert writer.wait(60) == 0
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    events = [json.loads(line) for line in lines[:-1]]  # a merged line would not parse
    assert len(events) == 6000
    for name in ("desk", "hedger", "audit"):
        assert [e["n"] for e in events if e["process"] == name] == list(range(2000))


def test_time_stamp_is_iso_utc_to_the_microsecond_and_now() -> None:
    out = io.StringIO()
    configure_logging("json", "info", stream=out)
    log = structlog.get_logger("desk.test")
    before = datetime.now(UTC)
    for _ in range(3):  # the second's text is cached: later lines reuse it
        log.info("tick")
    after = datetime.now(UTC)
    stamps = [json.loads(line)["ts"] for line in out.getvalue().splitlines()]
    for stamp in stamps:
        # structlog's own ISO UTC form, always with six fractional digits.
        assert len(stamp) == len("2026-12-05T19:00:06.110231Z")
        assert (stamp[10], stamp[19], stamp[-1]) == ("T", ".", "Z")
        at = datetime.fromisoformat(stamp)
        assert at.utcoffset() == timedelta(0)
        assert before.replace(microsecond=0) <= at <= after
    assert stamps == sorted(stamps)
