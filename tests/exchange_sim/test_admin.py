"""The admin HTTP API: steering, freezing and taking down a venue."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests

from exchange_sim.book import quantize_to_step
from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import (
    FAST_INTERVAL_MS,
    HTTP_TIMEOUT_S,
    admin_post,
    admin_state,
    sync_binance,
    wait_until,
)


def _last_id(sim: SimulatorThread, venue: str, symbol: str = "BTC/USDT") -> int:
    last_id: int = admin_state(sim.base_url(venue))["symbols"][symbol]["lastUpdateId"]
    return last_id


def test_state_lists_mids_ids_and_flags(sim: SimulatorThread) -> None:
    state = admin_state(sim.base_url("sim-a"))
    assert state["venue"] == "sim-a"
    assert state["frozen"] is False
    assert state["down"] is False
    btc = state["symbols"]["BTC/USDT"]
    assert btc["id"] == "BTCUSDT"
    assert Decimal(btc["bestBid"]) < Decimal(btc["mid"]) < Decimal(btc["bestAsk"])
    assert isinstance(btc["lastUpdateId"], int)


def test_set_mid_with_unified_symbol_moves_the_ccxt_book(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    # Frozen so the walk cannot move the book between the admin call and the fetch.
    admin_post(base, "/admin/freeze", {"frozen": True})
    before = _last_id(sim, "sim-a")
    answer = admin_post(base, "/admin/books/BTC%2FUSDT", {"mid": "61000"})
    assert answer["symbol"] == "BTC/USDT"
    assert answer["mid"] == "61000.00"
    assert answer["lastUpdateId"] == before + 1
    ex = sync_binance(sim.api_url("sim-a"))
    ex.load_markets()
    book = ex.fetch_order_book("BTC/USDT", limit=5)
    assert book["nonce"] == before + 1
    assert 61000 - 0.035 < book["bids"][0][0] < 61000 < book["asks"][0][0] < 61000 + 0.035
    # The other venue did not move.
    assert Decimal(admin_state(sim.base_url("sim-b"))["symbols"]["BTC/USDT"]["mid"]) < 60600


def test_set_mid_unfrozen_walk_continues_from_new_mid(sim: SimulatorThread) -> None:
    answer = admin_post(sim.base_url("sim-b"), "/admin/books/ETHUSDT", {"mid": 2500})
    assert answer["mid"] == "2500.00"
    # Wait for a few walk steps after the reset, then the mid must still be near 2500.
    assert wait_until(lambda: _last_id(sim, "sim-b", "ETH/USDT") > answer["lastUpdateId"] + 3)
    mid = Decimal(admin_state(sim.base_url("sim-b"))["symbols"]["ETH/USDT"]["mid"])
    assert abs(mid - 2500) < 5


def test_shift_bps_with_exchange_symbol(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/freeze", {"frozen": True})
    old = Decimal(admin_state(base)["symbols"]["BTC/USDT"]["mid"])
    answer = admin_post(base, "/admin/books/BTCUSDT", {"shift_bps": "-50"})
    expected = quantize_to_step(old * Decimal("0.995"), Decimal("0.01"))
    assert Decimal(answer["mid"]) == expected


def test_freeze_stops_last_update_id_and_unfreeze_resumes(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    assert admin_post(base, "/admin/freeze", {"frozen": True}) == {
        "venue": "sim-a",
        "frozen": True,
    }
    ex = sync_binance(sim.api_url("sim-a"))
    ex.load_markets()
    first = ex.fetch_order_book("BTC/USDT", limit=5)
    time.sleep(8 * FAST_INTERVAL_MS / 1000)
    second = ex.fetch_order_book("BTC/USDT", limit=5)
    assert second["nonce"] == first["nonce"]
    assert second["bids"] == first["bids"]
    assert second["asks"] == first["asks"]
    assert admin_state(base)["frozen"] is True
    admin_post(base, "/admin/freeze", {"frozen": False})
    assert wait_until(lambda: _last_id(sim, "sim-a") > first["nonce"])


def test_manual_step_moves_a_frozen_book_exactly(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/freeze", {"frozen": True})
    before = _last_id(sim, "sim-a")
    state = admin_post(base, "/admin/step", {"steps": 3})
    assert state["symbols"]["BTC/USDT"]["lastUpdateId"] == before + 3
    assert _last_id(sim, "sim-a") == before + 3


def test_outage_answers_503_but_admin_stays_up(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/outage", {"down": True})
    resp = requests.get(f"{base}/api/v3/ping", timeout=HTTP_TIMEOUT_S)
    assert resp.status_code == 503
    assert resp.json() == {"code": 1, "msg": "System is under maintenance."}
    assert admin_state(base)["down"] is True
    admin_post(base, "/admin/outage", {"down": False})
    assert requests.get(f"{base}/api/v3/ping", timeout=HTTP_TIMEOUT_S).json() == {}


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/admin/books/XRP%2FUSDT", {"mid": "1"}, 404),
        ("/admin/books/BTCUSDT", {"mid": "1", "shift_bps": "2"}, 400),
        ("/admin/books/BTCUSDT", {}, 400),
        ("/admin/books/BTCUSDT", {"mid": "abc"}, 400),
        ("/admin/books/BTCUSDT", {"mid": "60000.001"}, 400),
        ("/admin/books/BTCUSDT", {"mid": "-5"}, 400),
        ("/admin/books/BTCUSDT", {"mid": True}, 400),
        ("/admin/books/BTCUSDT", {"mid": "1e40"}, 400),
        ("/admin/books/BTCUSDT", {"mid": "Infinity"}, 400),
        ("/admin/books/BTCUSDT", {"shift_bps": "-10000"}, 400),
        ("/admin/books/BTCUSDT", ["mid"], 400),
        ("/admin/freeze", {"frozen": "yes"}, 400),
        ("/admin/outage", {}, 400),
        ("/admin/step", {"steps": 0}, 400),
    ],
)
def test_admin_rejects_bad_requests(
    sim: SimulatorThread, path: str, body: object, status: int
) -> None:
    answer = admin_post(sim.base_url("sim-a"), path, body, expect=status)
    assert answer["error"]


def test_admin_rejects_invalid_json(sim: SimulatorThread) -> None:
    resp = requests.post(
        f"{sim.base_url('sim-a')}/admin/freeze", data="{not json", timeout=HTTP_TIMEOUT_S
    )
    assert resp.status_code == 400
    assert "JSON" in resp.json()["error"]
