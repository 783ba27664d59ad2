"""Restarting the desk process, cleanly or with kill -9: sequence numbers kept, no ExecID
reused, no booked trade lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.config.loader import load_config
from desk.ledger.database import make_engine
from desk.ledger.repository import Ledger
from exchange_sim.runner import SimulatorThread
from tests.e2e.helpers import order, quote
from tests.fixclient import FixClient
from tests.fixtures.desk import VENUES, desk_toml, free_port

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
            if b'"gateway.listening"' in new and new.count(b'"md.venue.ready"') == len(VENUES):
                time.sleep(0.3)  # first books
                return
            time.sleep(0.1)
        raise AssertionError(f"desk did not start:\n{self.log_path.read_text()}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)


@pytest.fixture
def desk_process(
    tmp_path: Path, simulator: SimulatorThread, sqlite_url: str
) -> Iterator[DeskProcess]:
    port = free_port()
    config_path = tmp_path / "desk.toml"
    config_path.write_text(
        desk_toml(
            var_dir=tmp_path / "var",
            database_url=sqlite_url,
            fix_port=port,
            venue_urls={name: simulator.api_url(name) for name in VENUES},
        ),
        encoding="utf-8",
    )
    process = DeskProcess(config_path, tmp_path / "desk.log", port)
    yield process
    if process.proc is not None and process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait(10)


def _trades(config_path: Path) -> list[str]:
    engine = make_engine(load_config(config_path, env={}).database_url)
    try:
        return [row.exec_id for row in Ledger(engine).trade_log()]
    finally:
        engine.dispose()


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
def test_restart_keeps_sequence_numbers_exec_ids_and_trades(
    desk_process: DeskProcess, how: str
) -> None:
    desk_process.start()
    client = FixClient("127.0.0.1", desk_process.port, sender="CLIENT1")
    client.logon("client1", "client1-demo")
    q1 = quote(client, "BTC/USDT", "0.2")
    cl1, fill1 = order(client, q1, side="1")
    assert fill1[150] == "F"

    if how == "kill -9":
        desk_process.kill9()
    else:
        assert desk_process.terminate() == 0
        client.wait_closed(5)
    client.close()
    desk_process.start()

    # Same session, no reset: the desk must carry on with the numbers it had.
    expected_from_desk = client.last_in_seq + 1
    logon = client.logon("client1", "client1-demo", reset=False)
    assert logon.seq_num is not None
    if how == "kill -9":
        assert logon.seq_num == expected_from_desk
    else:
        # A clean stop sent a Logout the client may not have read; it still counts.
        assert logon.seq_num in (expected_from_desk, expected_from_desk + 1)
    for message in client.drain(0.3):
        assert message.msg_type in ("2", "4", "0", "1"), message

    q2 = quote(client, "BTC/USDT", "0.2")
    assert q2[117] != q1[117]
    _, fill2 = order(client, q2, side="1")
    assert fill2[150] == "F"
    assert fill2[17] != fill1[17]
    assert fill2[37] != fill1[37]

    # The order filled before the restart is still known: a resend gets the original fill.
    _, again = order(client, q1, side="1", cl_ord_id=cl1, poss_resend=True)
    assert again[17] == fill1[17]
    assert again[97] == "Y"
    client.close()

    assert _trades(desk_process.config_path) == [fill1[17], fill2[17]]
