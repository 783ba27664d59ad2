"""Depth streams with REST fallback, end to end: the desk keeps quoting through stream trouble.

The simulator is shared by the module, so every test puts back what it changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import requests
import structlog

from desk.marketdata.snapshot import VenueBook
from tests.e2e.helpers import quote
from tests.fixtures.desk import RunningDesk, StartDesk
from tests.sim_admin import admin, book_path

BTC = "BTC/USDT"


def _wait_until(predicate: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _book(desk: RunningDesk, venue: str, symbol: str = BTC) -> VenueBook:
    assert desk.server.core is not None
    book = desk.server.core.snapshot.get(venue, symbol)
    assert book is not None
    return book


# These tests read the feed's own events (md.stream.*), which only a feed on a thread of the
# desk's logs in this process; the feed in a process of its own is in
# tests/unit/test_feed_process.py and under every other end-to-end test.
_FEED_ON_A_THREAD = {"market_data_process": False}


def _events(logs: list[dict[str, Any]], name: str, venue: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name and e.get("venue") == venue]


def _sim_mid(desk: RunningDesk, venue: str) -> Decimal:
    return Decimal(admin(desk.simulator.base_url(venue), "state")["symbols"][BTC]["mid"])


def test_stream_down_falls_back_to_polling_and_quotes_keep_using_the_venue(
    start_desk: StartDesk,
) -> None:
    with structlog.testing.capture_logs() as logs:
        desk = start_desk(**_FEED_ON_A_THREAD)
        sim_b = desk.simulator.base_url("sim-b")
        _wait_until(lambda: _book(desk, "sim-b").source == "stream")
        admin(sim_b, "stream", {"down": True})
        try:
            _wait_until(lambda: _book(desk, "sim-b").source == "poll")
            down = _events(logs, "md.stream.down", "sim-b")
            assert {e["symbol"] for e in down} <= {"BTC/USDT", "ETH/USDT"}
            assert any(e["symbol"] == BTC for e in down)
            # Move sim-b a little (well inside the outlier band): its polled book follows.
            admin(sim_b, book_path(BTC), {"shift_bps": "15"})
            _wait_until(
                lambda: abs(_book(desk, "sim-b").mid - _sim_mid(desk, "sim-b")) < Decimal("3")
            )
            with desk.logged_on() as c:
                q = quote(c, BTC, "0.1")
            sent = [e for e in logs if e["event"] == "quote.sent" and e["quote_id"] == q[117]]
            assert len(sent) == 1
            assert "sim-b" in sent[0]["venues_used"]
        finally:
            admin(sim_b, "stream", {"down": False})
            admin(sim_b, book_path(BTC), {"shift_bps": "-15"})
        _wait_until(lambda: _book(desk, "sim-b").source == "stream")
        _wait_until(lambda: bool(_events(logs, "md.stream.recovered", "sim-b")))
    # One event per state change: however many retries failed while it was down.
    assert len([e for e in _events(logs, "md.stream.down", "sim-b") if e["symbol"] == BTC]) == 1
    assert (
        len([e for e in _events(logs, "md.stream.recovered", "sim-b") if e["symbol"] == BTC]) == 1
    )
    assert not _events(logs, "md.stream.down", "sim-a")


def test_a_gap_resyncs_and_the_desks_book_matches_the_sim(start_desk: StartDesk) -> None:
    with structlog.testing.capture_logs() as logs:
        desk = start_desk(**_FEED_ON_A_THREAD)
        sim_c = desk.simulator.base_url("sim-c")
        _wait_until(lambda: _book(desk, "sim-c").source == "stream")
        admin(sim_c, "stream/gap", {})
        _wait_until(
            lambda: any(e["symbol"] == BTC for e in _events(logs, "md.stream.resync", "sim-c"))
        )
        admin(sim_c, "freeze", {"frozen": True})
        try:
            target = admin(sim_c, "state")["symbols"][BTC]["lastUpdateId"]
            _wait_until(lambda: _book(desk, "sim-c").update_id == target)
            resp = requests.get(
                f"{desk.simulator.api_url('sim-c')}/depth",
                params={"symbol": "BTCUSDT", "limit": "20"},
                timeout=5,
            )
            doc = resp.json()
            book = _book(desk, "sim-c")
            assert book.source == "stream"
            assert book.update_id == doc["lastUpdateId"]
            assert list(book.bids) == [(Decimal(p), Decimal(q)) for p, q in doc["bids"]]
            assert list(book.asks) == [(Decimal(p), Decimal(q)) for p, q in doc["asks"]]
        finally:
            admin(sim_c, "freeze", {"frozen": False})
    assert not _events(logs, "md.stream.down", "sim-c")
