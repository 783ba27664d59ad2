"""Admin scenarios on one symbol (volatility, offset, crossed, thin) and the stream switches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import requests

from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import HTTP_TIMEOUT_S, admin_post, admin_state, fast_config

BTC = "/admin/books/BTC%2FUSDT"
# A venue update interval longer than any test: the venue only moves when stepped.
_NEVER_MS = 3_600_000


def depth(sim: SimulatorThread, venue: str, symbol: str = "BTCUSDT") -> dict[str, Any]:
    resp = requests.get(
        f"{sim.api_url(venue)}/depth",
        params={"symbol": symbol, "limit": "1000"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()
    return result


def btc_state(sim: SimulatorThread, venue: str) -> dict[str, Any]:
    state: dict[str, Any] = admin_state(sim.base_url(venue))["symbols"]["BTC/USDT"]
    return state


def mid(sim: SimulatorThread, venue: str) -> Decimal:
    return Decimal(btc_state(sim, venue)["mid"])


def freeze_both(sim: SimulatorThread) -> None:
    for venue in ("sim-a", "sim-b"):
        admin_post(sim.base_url(venue), "/admin/freeze", {"frozen": True})


def step_both(sim: SimulatorThread, steps: int) -> None:
    for venue in ("sim-a", "sim-b"):
        admin_post(sim.base_url(venue), "/admin/step", {"steps": steps})


def test_state_shows_the_scenario_settings_and_stream_flags(sim: SimulatorThread) -> None:
    state = admin_state(sim.base_url("sim-a"))
    assert state["streamDown"] is False
    assert state["wsClients"] == 0
    btc = state["symbols"]["BTC/USDT"]
    assert btc["volatilityBps"] == "0.5"
    assert btc["offsetBps"] == "0"
    assert btc["crossed"] is False
    assert btc["depthFactor"] == "1"


def test_zero_volatility_holds_the_mid_and_a_high_one_moves_it(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/freeze", {"frozen": True})
    # With the mid set the venue's basis is zero, so only volatility could move the walk.
    answer = admin_post(base, BTC, {"volatility_bps": "0", "mid": "60000"})
    assert answer["volatilityBps"] == "0"
    before = Decimal(answer["mid"])
    admin_post(base, "/admin/step", {"steps": 20})
    assert mid(sim, "sim-a") == before
    admin_post(base, BTC, {"volatility_bps": "25"})
    admin_post(base, "/admin/step", {"steps": 20})
    # 25 bps a step over 20 steps: the walk leaves its starting point by far more than a tick.
    assert abs(mid(sim, "sim-a") - before) > Decimal("1")
    # The other symbol keeps its configured volatility.
    assert admin_state(base)["symbols"]["ETH/USDT"]["volatilityBps"] == "0.7"


@pytest.fixture
def lockstep_sim() -> Iterator[SimulatorThread]:
    """sim-a and sim-b that never step on their own: both walk the shared reference path only
    as the test steps them, so they stay at the same point of it. (Freezing a ticking pair
    leaves them wherever each was, maybe ticks apart on a busy machine, and then the same
    number of steps moves them along different stretches of the path: one tick apart moved
    the ratio 8 bps in a probe, against the test's 25 bps tolerance.)"""
    config = fast_config()
    still = tuple(replace(venue, update_interval_ms=_NEVER_MS) for venue in config.venues)
    with SimulatorThread(replace(config, venues=still)) as running:
        yield running


def test_offset_displaces_the_mid_and_keeps_following_the_market(
    lockstep_sim: SimulatorThread,
) -> None:
    sim = lockstep_sim
    freeze_both(sim)
    answer = admin_post(sim.base_url("sim-a"), BTC, {"offset_bps": "500"})
    assert answer["offsetBps"] == "500"
    ratio = mid(sim, "sim-a") / mid(sim, "sim-b")
    # 5% off, give or take the venues' own basis (at most 10 bps each).
    assert abs(ratio - Decimal("1.05")) < Decimal("0.0025"), ratio
    before_b = mid(sim, "sim-b")
    admin_post(sim.base_url("sim-a"), BTC, {"volatility_bps": "20"})
    admin_post(sim.base_url("sim-b"), BTC, {"volatility_bps": "20"})
    step_both(sim, 30)
    assert mid(sim, "sim-b") != before_b
    ratio = mid(sim, "sim-a") / mid(sim, "sim-b")
    assert abs(ratio - Decimal("1.05")) < Decimal("0.0025"), ratio
    admin_post(sim.base_url("sim-a"), BTC, {"offset_bps": "0"})
    ratio = mid(sim, "sim-a") / mid(sim, "sim-b")
    assert abs(ratio - 1) < Decimal("0.0025"), ratio


def test_offset_then_mid_in_one_body_sets_the_displaced_mid(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/freeze", {"frozen": True})
    before = btc_state(sim, "sim-a")["lastUpdateId"]
    answer = admin_post(base, BTC, {"offset_bps": "-300", "mid": "58000", "depth_factor": "2"})
    assert answer["mid"] == "58000.00"
    assert answer["offsetBps"] == "-300"
    assert answer["depthFactor"] == "2"
    # Several keys, one rebuild.
    assert answer["lastUpdateId"] == before + 1


def test_crossed_book_has_best_bid_above_best_ask_while_moving(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    answer = admin_post(base, BTC, {"crossed": True})
    assert answer["crossed"] is True
    tick = Decimal("0.01")
    for _ in range(5):
        admin_post(base, "/admin/step", {"steps": 1})
        book = depth(sim, "sim-a")
        best_bid, best_ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
        assert best_bid > best_ask
        assert best_bid - best_ask <= 6 * tick
        # Each side is still ordered best first.
        bids = [Decimal(p) for p, _ in book["bids"]]
        assert bids == sorted(bids, reverse=True)
    admin_post(base, BTC, {"crossed": False})
    book = depth(sim, "sim-a")
    assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])


def test_depth_factor_thins_every_level_and_one_restores(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/freeze", {"frozen": True})

    def total_notional() -> Decimal:
        book = depth(sim, "sim-a")
        levels = book["bids"] + book["asks"]
        return sum((Decimal(p) * Decimal(q) for p, q in levels), Decimal(0))

    normal = total_notional()
    admin_post(base, BTC, {"depth_factor": "0.01"})
    thin = total_notional()
    # Sizes are re-drawn on each rebuild (+-40%), so only the order of magnitude is exact.
    assert thin < normal / 30
    for _, qty in depth(sim, "sim-a")["bids"]:
        assert Decimal(qty) >= Decimal("0.00001")
    admin_post(base, BTC, {"depth_factor": "0.0000001"})
    for _, qty in depth(sim, "sim-a")["asks"]:
        # Never below one lot or the minimum notional (5 USDT).
        assert Decimal(qty) >= Decimal("0.00001")
    admin_post(base, BTC, {"depth_factor": "1"})
    assert total_notional() > normal / 3


def test_each_change_bumps_the_update_id(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/freeze", {"frozen": True})
    first = btc_state(sim, "sim-a")["lastUpdateId"]
    for body in (
        {"volatility_bps": "3"},
        {"offset_bps": "10"},
        {"crossed": False},
        {"depth_factor": "1"},
        {"shift_bps": "1"},
    ):
        admin_post(base, BTC, body)
    assert btc_state(sim, "sim-a")["lastUpdateId"] == first + 5


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"volatility": "1"}, "'volatility'"),
        ({"mid": "60000", "extra": 1}, "'extra'"),
        ({"volatility_bps": "-1"}, "volatility_bps"),
        ({"volatility_bps": "5000"}, "volatility_bps"),
        ({"volatility_bps": "abc"}, "volatility_bps"),
        ({"offset_bps": "-10000"}, "offset_bps"),
        ({"offset_bps": "NaN"}, "offset_bps"),
        ({"depth_factor": "0"}, "depth_factor"),
        ({"depth_factor": True}, "depth_factor"),
        ({"crossed": "yes"}, "crossed"),
        ({"mid": "60000", "shift_bps": "1"}, "exclude"),
        ({"offset_bps": "100", "mid": "60000.001"}, "tick"),
    ],
)
def test_book_changes_are_validated_and_leave_the_book_alone(
    sim: SimulatorThread, body: dict[str, Any], reason: str
) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/freeze", {"frozen": True})
    before = btc_state(sim, "sim-a")
    answer = admin_post(base, BTC, body, expect=400)
    assert reason in answer["error"]
    assert btc_state(sim, "sim-a") == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/stream", {}),
        ("/admin/stream", {"down": "yes"}),
        ("/admin/stream/gap", {"now": True}),
    ],
)
def test_stream_switches_validate_their_bodies(
    sim: SimulatorThread, path: str, body: dict[str, Any]
) -> None:
    assert admin_post(sim.base_url("sim-a"), path, body, expect=400)["error"]


def test_stream_switch_shows_in_state(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-b")
    assert admin_post(base, "/admin/stream", {"down": True})["streamDown"] is True
    assert admin_state(base)["streamDown"] is True
    assert admin_state(sim.base_url("sim-a"))["streamDown"] is False
    assert admin_post(base, "/admin/stream", {"down": False})["streamDown"] is False
    assert admin_post(base, "/admin/stream/gap", {}) == {"venue": "sim-b", "subscriptions": 0}
