"""A bug in desk code must become a reject and an error event, never a dead gateway."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from desk.clock import SystemClock
from desk.domain.messages import (
    OrderOutcome,
    OrderRequest,
    RfqOutcome,
    RfqRequest,
    StatusReport,
    StatusRequest,
)
from gateway.acceptor import FixGateway
from gateway.credentials import hash_password
from gateway.logon_guard import Credentials
from gateway.settings import AcceptorSpec, SessionSpec
from tests.fixclient import FixClient, utc_timestamp
from tests.fixtures.desk import REPO, free_port


class BrokenDesk:
    """A desk whose every call fails, as a bug in desk code would."""

    def request_quote(self, request: RfqRequest) -> RfqOutcome:
        raise RuntimeError("pricing bug")

    def rfq_answered(self, request: RfqRequest, outcome: RfqOutcome) -> None:
        raise AssertionError("never answered: request_quote failed")

    def place_order(self, order: OrderRequest, reply: Callable[[OrderOutcome], None]) -> None:
        raise ZeroDivisionError("booking bug")

    def order_status(self, request: StatusRequest) -> StatusReport:
        raise KeyError("status bug")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    spec = AcceptorSpec(
        desk_comp_id="OTCDESK",
        port=port,
        dictionary=REPO / "fix_specs" / "FIX44-desk.xml",
        store_dir=tmp_path / "store",
        log_dir=None,
        heartbeat_s=30,
        non_stop=True,
        start_time="00:00:00",
        end_time="00:00:00",
        max_latency_s=120,
        sessions=(SessionSpec("CLIENT1"),),
    )
    creds = {"CLIENT1": Credentials("CLIENT1", "client1", hash_password("pw"))}
    gw = FixGateway(spec, creds, BrokenDesk(), SystemClock(), tmp_path / "quickfix.cfg")
    gw.start()
    try:
        yield port
    finally:
        gw.stop()


def test_desk_exceptions_become_rejects_and_error_events(gateway: int) -> None:
    with capture_logs() as events, FixClient("127.0.0.1", gateway, "CLIENT1") as c:
        c.logon("client1", "pw")
        c.send("R", [(131, "r-1"), (146, "1"), (55, "BTC/USDT"), (38, "1")])
        rfq_reject = c.expect("AG")
        assert rfq_reject[131] == "r-1"
        assert rfq_reject[58].startswith("INTERNAL_ERROR: ")

        c.send(
            "D",
            [
                (11, "o-1"),
                (117, "Q1"),
                (55, "BTC/USDT"),
                (54, "1"),
                (60, utc_timestamp()),
                (38, "1"),
                (40, "D"),
                (44, "100"),
            ],
        )
        order_reject = c.expect("8")
        assert order_reject[150] == "8"
        assert order_reject[11] == "o-1"
        assert order_reject[58].startswith("INTERNAL_ERROR: ")

        # Still alive: the session answers a TestRequest (the client files Heartbeats away).
        c.send("1", [(112, "still-there")])
        c.drain(0.5)
        assert any(m.msg_type == "0" and m.get(112) == "still-there" for m in c.received)
    failures = [e for e in events if e["event"] == "gateway.callback_failed"]
    assert len(failures) == 2
    assert all(e["log_level"] == "error" for e in failures)
