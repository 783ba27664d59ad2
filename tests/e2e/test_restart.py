"""Restarting the desk process, cleanly or with kill -9: sequence numbers kept, no ExecID
reused, no booked trade lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.config.loader import load_config
from desk.ledger.database import make_engine
from desk.ledger.repository import Ledger
from exchange_sim.runner import SimulatorThread
from tests.e2e.desk_process import DeskProcess, demo_credentials
from tests.e2e.helpers import next_id, order, quote, rfq
from tests.fixclient import FixClient
from tests.fixtures.desk import VENUES, desk_toml, free_port


@pytest.fixture
def desk_process(
    tmp_path: Path, simulator: SimulatorThread, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DeskProcess]:
    demo_credentials(monkeypatch)
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
        if message.msg_type == "2":
            # kill -9 can land after the fill went out but before the desk stored the order's
            # MsgSeqNum; answer its ResendRequest as a counterparty would (the order itself is
            # booked, and a PossResend of it below gets the original fill).
            client.gap_fill(int(message[7]), client.next_out_seq)

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


def test_a_quote_req_id_used_before_a_restart_is_still_a_repeat_after_it(
    desk_process: DeskProcess,
) -> None:
    desk_process.start()
    client = FixClient("127.0.0.1", desk_process.port, sender="CLIENT1")
    client.logon("client1", "client1-demo")
    used = next_id("before-restart")
    _, first = rfq(client, quote_req_id=used)
    assert first.msg_type == "S"
    assert desk_process.terminate() == 0  # a clean stop writes the audit trail's queue
    client.wait_closed(5)
    client.close()
    desk_process.start()

    client = FixClient("127.0.0.1", desk_process.port, sender="CLIENT1")
    client.logon("client1", "client1-demo", reset=True)
    _, again = rfq(client, quote_req_id=used)
    assert again.msg_type == "AG", again
    assert again[658] == "99"
    assert again[58].startswith("DUPLICATE_QUOTEREQID: "), again
    assert quote(client, "BTC/USDT", "0.2").msg_type == "S"  # a new id still quotes
    client.close()
    started = [
        json.loads(line)
        for line in desk_process.log_path.read_text(encoding="utf-8").splitlines()
        if '"desk.started"' in line
    ]
    assert [event["quote_req_ids_today"] for event in started] == [0, 1]
