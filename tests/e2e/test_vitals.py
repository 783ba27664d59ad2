"""A running desk logs desk.vitals on its schedule, with the quotes it holds."""

from __future__ import annotations

import time

from structlog.testing import capture_logs

from tests.e2e.helpers import quote
from tests.fixtures.desk import StartDesk


def test_a_running_desk_logs_its_vitals_with_the_quotes_it_holds(start_desk: StartDesk) -> None:
    with capture_logs() as logs:
        desk = start_desk(extra="vitals_interval_s = 1")
        client = desk.logged_on()
        for _ in range(3):
            quote(client, "BTC/USDT", "0.1")
        deadline = time.monotonic() + 5
        held: list[int] = []
        while time.monotonic() < deadline and not any(n >= 3 for n in held):
            time.sleep(0.1)
            held = [e["quotes_held"] for e in logs if e["event"] == "desk.vitals"]
        client.logout()
        client.close()
    assert any(n >= 3 for n in held), held
    vitals = [e for e in logs if e["event"] == "desk.vitals"]
    assert all(e["python_blocks"] > 0 and e["rss_kib"] > 0 for e in vitals)
    assert all(e["audit_pending"] >= 0 and e["threads"] > 1 for e in vitals)
