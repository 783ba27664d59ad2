"""The simulator's fault injection (``/admin/faults``), seen over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import admin_post
from tests.exchange_sim.signed_http import HTTP_TIMEOUT_S, SignedClient, admin_get


@pytest.fixture
def venue(sim: SimulatorThread) -> str:
    return sim.base_url("sim-a")


@pytest.fixture
def client(venue: str) -> SignedClient:
    return SignedClient(venue)


def buy(cid: str) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.001",
        "newClientOrderId": cid,
    }


def recorded(venue: str) -> list[tuple[str, str]]:
    return [(o["clientOrderId"], o["status"]) for o in admin_get(venue, "orders")["orders"]]


def test_latency_delays_every_api_call(venue: str, client: SignedClient) -> None:
    admin_post(venue, "/admin/faults", {"latency_ms": 300})

    started = time.monotonic()
    resp = requests.get(f"{venue}/api/v3/ping", timeout=HTTP_TIMEOUT_S)
    client.ok("GET", "account")
    elapsed = time.monotonic() - started

    assert resp.status_code == 200
    assert elapsed >= 0.6
    # The admin API is not delayed: it is how a test switches the fault off again.
    admin_post(venue, "/admin/faults", {"latency_ms": 0})


def test_rate_limit_answers_the_next_n_signed_calls_then_stops(
    venue: str, client: SignedClient
) -> None:
    admin_post(
        venue, "/admin/faults", {"rate_limit": {"status": 429, "retry_after_s": 7, "count": 2}}
    )

    limited = [client.call("GET", "account") for _ in range(2)]
    public = requests.get(f"{venue}/api/v3/ping", timeout=HTTP_TIMEOUT_S)
    after = client.call("GET", "account")

    for resp in limited:
        assert resp.status_code == 429
        assert resp.headers["Retry-After"] == "7"
        assert resp.json()["code"] == -1003
    assert public.status_code == 200  # market data is not a signed call
    assert after.status_code == 200
    assert admin_get(venue, "faults")["rate_limit"] is None


def test_ban_answers_418_and_places_nothing(venue: str, client: SignedClient) -> None:
    admin_post(venue, "/admin/faults", {"rate_limit": {"status": 418, "count": 1}})

    resp = client.call("POST", "order", buy("banned"))

    assert (resp.status_code, resp.json()["code"]) == (418, -1003)
    assert "banned until" in resp.json()["msg"]
    assert recorded(venue) == []


@pytest.mark.parametrize(("status", "json_body"), [(500, False), (503, True)])
def test_order_5xx_after_placing_leaves_the_order_booked(
    venue: str, client: SignedClient, status: int, json_body: bool
) -> None:
    admin_post(venue, "/admin/faults", {"order_5xx": {"count": 1, "status": status}})

    resp = client.call("POST", "order", buy("unknown-1"))

    assert resp.status_code == status
    if json_body:
        assert resp.json()["code"] == -1007  # Binance's "execution status unknown"
    assert recorded(venue) == [("unknown-1", "FILLED")]
    # Used up: the next placement is answered normally.
    assert client.call("POST", "order", buy("unknown-2")).status_code == 200


def test_order_5xx_without_placing_books_nothing(venue: str, client: SignedClient) -> None:
    admin_post(venue, "/admin/faults", {"order_5xx": {"count": 1, "placed": False}})

    resp = client.call("POST", "order", buy("lost-1"))

    assert resp.status_code == 500
    assert recorded(venue) == []


def test_order_5xx_is_not_used_up_by_a_refused_order(venue: str, client: SignedClient) -> None:
    admin_post(venue, "/admin/faults", {"order_5xx": {"count": 1}})

    refused = client.call("POST", "order", {**buy("tiny"), "quantity": "0.00001"})
    booked = client.call("POST", "order", buy("real"))

    assert refused.json()["code"] == -1013
    assert booked.status_code == 500
    assert recorded(venue) == [("real", "FILLED")]


def test_order_timeout_books_the_order_and_answers_too_late(
    venue: str, client: SignedClient
) -> None:
    admin_post(venue, "/admin/faults", {"order_timeout": {"count": 1, "delay_s": 3}})

    with pytest.raises(requests.Timeout):
        client.call("POST", "order", buy("slow-1"), timeout_s=0.5)

    assert recorded(venue) == [("slow-1", "FILLED")]
    assert admin_get(venue, "faults")["order_timeout"] is None


def test_forced_refusals_until_switched_off(venue: str, client: SignedClient) -> None:
    admin_post(venue, "/admin/faults", {"insufficient_balance": True})
    assert client.error("POST", "order", buy("a"))[1:] == (
        -2010,
        "Account has insufficient balance for requested action.",
    )
    admin_post(venue, "/admin/faults", {"insufficient_balance": False, "reject_lot_size": True})
    assert client.error("POST", "order", buy("b"))[1:] == (-1013, "Filter failure: LOT_SIZE")
    admin_post(venue, "/admin/faults", {"reject_lot_size": None})
    assert client.ok("POST", "order", buy("c"))["status"] == "FILLED"


def test_clear_switches_every_fault_off(venue: str) -> None:
    admin_post(
        venue,
        "/admin/faults",
        {
            "latency_ms": 5,
            "rate_limit": {"count": 3},
            "order_5xx": {"count": 2},
            "order_timeout": {"count": 1, "delay_s": "0.5"},
            "insufficient_balance": True,
            "reject_lot_size": True,
        },
    )
    armed = admin_get(venue, "faults")
    assert armed["rate_limit"] == {"status": 429, "retry_after_s": 1, "count": 3}
    assert armed["order_timeout"] == {"count": 1, "delay_s": 0.5}

    cleared = admin_post(venue, "/admin/faults/clear", {})

    assert cleared == {
        "venue": "sim-a",
        "latency_ms": 0,
        "rate_limit": None,
        "order_5xx": None,
        "order_timeout": None,
        "insufficient_balance": False,
        "reject_lot_size": False,
    }


def test_faults_are_per_venue(sim: SimulatorThread, venue: str) -> None:
    admin_post(venue, "/admin/faults", {"insufficient_balance": True})
    other = SignedClient(sim.base_url("sim-b"))
    assert other.ok("POST", "order", buy("fine"))["status"] == "FILLED"


def test_balances_can_be_set_and_read(venue: str, client: SignedClient) -> None:
    answer = admin_post(venue, "/admin/balances", {"BTC": "0", "SOL": "12.5"})
    assert answer["balances"]["BTC"] == {"free": "0", "locked": "0"}
    assert answer["balances"]["SOL"]["free"] == "12.5"
    assert admin_get(venue, "balances") == answer
    sell = {**buy("no-btc"), "side": "SELL"}
    assert client.error("POST", "order", sell)[1] == -2010


@pytest.mark.parametrize(
    "body",
    [
        {"latency_ms": -1},
        {"latency_ms": "fast"},
        {"rate_limit": {"status": 500}},
        {"rate_limit": {"count": 0}},
        {"rate_limit": 5},
        {"order_5xx": {"status": 404}},
        {"order_5xx": {"placed": "yes"}},
        {"order_timeout": {"delay_s": 0}},
        {"order_timeout": {"delay_s": 600}},
        {"order_timeout": {"pause": 1}},
        {"insufficient_balance": "true"},
        {"unknown_fault": True},
        {},
    ],
)
def test_bad_fault_bodies_are_400_and_change_nothing(venue: str, body: dict[str, Any]) -> None:
    before = admin_get(venue, "faults")
    answer = admin_post(venue, "/admin/faults", body, expect=400)
    assert answer["error"]
    assert admin_get(venue, "faults") == before


@pytest.mark.parametrize("body", [{"btc": "1"}, {"BTC": "-1"}, {"BTC": True}, {"BTC": "x"}, {}])
def test_bad_balance_bodies_are_400(venue: str, body: dict[str, Any]) -> None:
    assert admin_post(venue, "/admin/balances", body, expect=400)["error"]
