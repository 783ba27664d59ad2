"""`otc-desk serve` run as its own process for restart tests, as ops would run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exchange_sim.config import DEMO_API_KEY, DEMO_API_SECRET
from tests.fixtures.desk import VENUES

OTC_DESK = str(Path(sys.executable).with_name("otc-desk"))


class DeskProcess:
    """`otc-desk serve` as its own process, as ops would run it."""

    def __init__(self, config_path: Path, log_path: Path, port: int) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [OTC_DESK, "--config", str(self.config_path), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()
            new = self.log_path.read_bytes()[offset:]
            if b'"gateway.listening"' in new and _desk_venues_ready(new) == len(VENUES):
                time.sleep(0.3)  # first books
                return
            time.sleep(0.1)
        self.proc.kill()  # never leave a desk (and its helpers) running past its test
        self.proc.wait(10)
        raise AssertionError(f"desk did not start:\n{self.log_path.read_text()}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)


def _desk_venues_ready(log: bytes) -> int:
    """``md.venue.ready`` events of the desk's own feed: in its market-data process, or on a
    thread of the desk's (the hedger's process has a feed too, and names itself in
    ``process``)."""
    count = 0
    for line in log.split(b"\n")[:-1]:  # whole lines only: the last may be half written
        if b'"md.venue.ready"' in line:
            event = json.loads(line)
            count += event.get("event") == "md.venue.ready" and event.get("process") in (
                None,
                "market-data",
            )
    return count


def demo_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's published demo key pair, inherited by the desk process."""
    monkeypatch.setenv("DESK_SIM_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("DESK_SIM_API_SECRET", DEMO_API_SECRET)
