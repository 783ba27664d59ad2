"""Signed order entry on a simulated venue over real HTTP: signing, matching, balances."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
import requests

from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import admin_post
from tests.exchange_sim.signed_http import HTTP_TIMEOUT_S, SignedClient, admin_get

FEE = Decimal("0.001")  # the default 10 bps taker fee
LOT = Decimal("0.00001")


@pytest.fixture
def venue(sim: SimulatorThread) -> str:
    """sim-a's base URL with its books frozen, so a test sees the book it read."""
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/freeze", {"frozen": True})
    return base


@pytest.fixture
def client(venue: str) -> SignedClient:
    return SignedClient(venue)


def depth(base_url: str, symbol: str = "BTCUSDT") -> dict[str, list[tuple[Decimal, Decimal]]]:
    resp = requests.get(
        f"{base_url}/api/v3/depth", params={"symbol": symbol, "limit": 5}, timeout=HTTP_TIMEOUT_S
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return {side: [(Decimal(p), Decimal(q)) for p, q in body[side]] for side in ("bids", "asks")}


def balances(client: SignedClient) -> dict[str, tuple[Decimal, Decimal]]:
    account = client.ok("GET", "account")
    return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in account["balances"]}


def market(side: str, qty: Decimal | str, cid: str, **extra: Any) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": side,
        "type": "MARKET",
        "quantity": str(qty),
        "newClientOrderId": cid,
        **extra,
    }


def limit(
    side: str, qty: Decimal | str, price: Decimal | str, tif: str, cid: str
) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": side,
        "type": "LIMIT",
        "timeInForce": tif,
        "quantity": str(qty),
        "price": str(price),
        "newClientOrderId": cid,
    }


def fills_of(answer: dict[str, Any]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(f["price"]), Decimal(f["qty"])) for f in answer["fills"]]


# --- matching, fees and balances -------------------------------------------------------------


def test_market_buy_walks_the_book_and_pays_the_fee_in_base(
    venue: str, client: SignedClient
) -> None:
    asks = depth(venue)["asks"]
    (p0, q0), (p1, _) = asks[0], asks[1]
    qty = q0 + Decimal("0.01")
    before = balances(client)

    answer = client.ok("POST", "order", market("BUY", qty, "walk-1"))

    assert answer["status"] == "FILLED"
    assert answer["clientOrderId"] == "walk-1"
    assert Decimal(answer["executedQty"]) == qty
    assert fills_of(answer) == [(p0, q0), (p1, Decimal("0.01"))]
    assert [f["commissionAsset"] for f in answer["fills"]] == ["BTC", "BTC"]
    commissions = [Decimal(f["commission"]) for f in answer["fills"]]
    assert commissions == [q0 * FEE, Decimal("0.01") * FEE]
    cost = p0 * q0 + p1 * Decimal("0.01")
    assert Decimal(answer["cummulativeQuoteQty"]) == cost
    after = balances(client)
    assert after["BTC"] == (before["BTC"][0] + qty - sum(commissions), Decimal(0))
    assert after["USDT"] == (before["USDT"][0] - cost, Decimal(0))


def test_market_sell_pays_the_fee_in_quote_rounded_up_to_eight_places(
    venue: str, client: SignedClient
) -> None:
    p0, q0 = depth(venue)["bids"][0]
    qty = min(q0, Decimal("0.12345"))

    answer = client.ok("POST", "order", market("SELL", qty, "sell-1"))

    (fill,) = answer["fills"]
    assert (Decimal(fill["price"]), Decimal(fill["qty"])) == (p0, qty)
    assert fill["commissionAsset"] == "USDT"
    exact_fee = p0 * qty * FEE
    assert Decimal(fill["commission"]) == exact_fee.quantize(Decimal("1E-8"), rounding="ROUND_UP")


def test_taken_liquidity_stays_taken_until_the_book_is_rebuilt(
    venue: str, client: SignedClient
) -> None:
    asks = depth(venue)["asks"]
    (p0, q0), (p1, _) = asks[0], asks[1]

    first = client.ok("POST", "order", market("BUY", q0, "take-1"))
    assert fills_of(first) == [(p0, q0)]
    second = client.ok("POST", "order", market("BUY", "0.001", "take-2"))
    assert fills_of(second) == [(p1, Decimal("0.001"))]

    admin_post(venue, "/admin/step", {"steps": 1})
    fresh_p0, _ = depth(venue)["asks"][0]
    third = client.ok("POST", "order", market("BUY", "0.001", "take-3"))
    assert fills_of(third) == [(fresh_p0, Decimal("0.001"))]


def test_gtc_limit_that_does_not_cross_rests_locks_funds_and_cancels(
    venue: str, client: SignedClient
) -> None:
    best_bid, _ = depth(venue)["bids"][0]
    price = best_bid - Decimal(100)
    usdt_before = balances(client)["USDT"][0]

    placed = client.ok("POST", "order", limit("BUY", "0.1", price, "GTC", "rest-1"))
    assert (placed["status"], placed["fills"]) == ("NEW", [])
    assert balances(client)["USDT"] == (usdt_before - price / 10, price / 10)
    (open_order,) = client.ok("GET", "openOrders", {"symbol": "BTCUSDT"})
    assert open_order["clientOrderId"] == "rest-1"
    queried = client.ok("GET", "order", {"symbol": "BTCUSDT", "origClientOrderId": "rest-1"})
    assert (queried["orderId"], queried["status"]) == (placed["orderId"], "NEW")

    canceled = client.ok("DELETE", "order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})

    assert (canceled["status"], canceled["origClientOrderId"]) == ("CANCELED", "rest-1")
    assert balances(client)["USDT"] == (usdt_before, Decimal(0))
    assert client.ok("GET", "openOrders", {"symbol": "BTCUSDT"}) == []
    again = client.error("DELETE", "order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert again == (400, -2011, "Unknown order sent.")


def test_gtc_limit_that_partly_crosses_keeps_the_rest_locked(
    venue: str, client: SignedClient
) -> None:
    p0, q0 = depth(venue)["asks"][0]
    qty = q0 + Decimal("0.5")

    answer = client.ok("POST", "order", limit("BUY", qty, p0, "GTC", "part-1"))

    assert answer["status"] == "PARTIALLY_FILLED"
    assert fills_of(answer) == [(p0, q0)]
    assert balances(client)["USDT"][1] == Decimal("0.5") * p0


def test_ioc_fills_what_crosses_and_expires_the_rest(venue: str, client: SignedClient) -> None:
    p0, q0 = depth(venue)["asks"][0]

    answer = client.ok("POST", "order", limit("BUY", q0 + 1, p0, "IOC", "ioc-1"))

    assert answer["status"] == "EXPIRED"
    assert fills_of(answer) == [(p0, q0)]
    assert balances(client)["USDT"][1] == 0


def test_fok_fills_whole_or_not_at_all(venue: str, client: SignedClient) -> None:
    p0, q0 = depth(venue)["asks"][0]
    before = balances(client)

    too_big = client.ok("POST", "order", limit("BUY", q0 + 1, p0, "FOK", "fok-1"))
    assert (too_big["status"], too_big["fills"], too_big["executedQty"]) == (
        "EXPIRED",
        [],
        "0.00000000",
    )
    assert balances(client) == before

    fits = client.ok("POST", "order", limit("BUY", q0, p0, "FOK", "fok-2"))
    assert (fits["status"], fills_of(fits)) == ("FILLED", [(p0, q0)])


@pytest.mark.parametrize(
    ("resp_type", "has_status", "has_fills"),
    [("ACK", False, False), ("RESULT", True, False), ("FULL", True, True)],
)
def test_new_order_resp_type_sets_the_detail(
    client: SignedClient, resp_type: str, has_status: bool, has_fills: bool
) -> None:
    answer = client.ok("POST", "order", market("BUY", "0.001", "rt", newOrderRespType=resp_type))
    assert ("status" in answer, "fills" in answer) == (has_status, has_fills)
    assert answer["clientOrderId"] == "rt"


# --- refusals --------------------------------------------------------------------------------


def test_reused_client_order_id_is_refused_and_places_nothing(
    venue: str, client: SignedClient
) -> None:
    client.ok("POST", "order", market("BUY", "0.001", "once"))

    refused = client.error("POST", "order", market("SELL", "0.001", "once"))

    assert refused == (400, -2010, "Duplicate order sent.")
    orders = admin_get(venue, "orders")["orders"]
    assert [o["clientOrderId"] for o in orders] == ["once"]


@pytest.mark.parametrize(
    ("params", "failure"),
    [
        (market("BUY", "0.000001", "f1"), "LOT_SIZE"),  # below one lot
        (market("BUY", "0.000015", "f2"), "LOT_SIZE"),  # not a lot multiple
        (market("BUY", "0.00001", "f3"), "NOTIONAL"),  # about 0.6 USDT
        (limit("BUY", "0.01", "60000.001", "GTC", "f4"), "PRICE_FILTER"),
    ],
)
def test_orders_breaking_a_filter_are_refused(
    client: SignedClient, params: dict[str, Any], failure: str
) -> None:
    assert client.error("POST", "order", params) == (400, -1013, f"Filter failure: {failure}")


def test_order_beyond_the_balance_is_refused_and_changes_nothing(
    venue: str, client: SignedClient
) -> None:
    admin_post(venue, "/admin/balances", {"USDT": "100"})
    before = balances(client)

    buy = client.error("POST", "order", market("BUY", "0.01", "poor-1"))
    sell = client.error("POST", "order", market("SELL", "101", "poor-2"))

    insufficient = (400, -2010, "Account has insufficient balance for requested action.")
    assert (buy, sell) == (insufficient, insufficient)
    assert balances(client) == before
    assert admin_get(venue, "orders")["orders"] == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"side": "HOLD"}, -1117),
        ({"type": "STOP"}, -1116),
        ({"type": "LIMIT", "price": "1", "timeInForce": "GTD"}, -1115),
        ({"quantity": "1e-3"}, -1100),
        ({"newClientOrderId": "has space"}, -1100),
        ({"price": "60000"}, -1106),  # a price on a MARKET order
        ({"icebergQty": "1"}, -1104),  # a parameter the venue does not read
        ({"quantity": ""}, -1102),
    ],
)
def test_malformed_orders_get_binance_codes(
    client: SignedClient, change: dict[str, str], code: int
) -> None:
    _, got, _ = client.error("POST", "order", {**market("BUY", "0.001", "bad"), **change})
    assert got == code


def test_unknown_order_does_not_exist(client: SignedClient) -> None:
    missing = client.error("GET", "order", {"symbol": "BTCUSDT", "origClientOrderId": "ghost"})
    assert missing == (400, -2013, "Order does not exist.")
    _, code, _ = client.error("GET", "order", {"symbol": "BTCUSDT"})
    assert code == -1102


# --- trades, account, admin record -----------------------------------------------------------


def test_my_trades_filters_by_order_and_pages_by_from_id(venue: str, client: SignedClient) -> None:
    q0 = depth(venue)["asks"][0][1]
    first = client.ok("POST", "order", market("BUY", q0 + Decimal("0.001"), "t-1"))
    second = client.ok("POST", "order", market("BUY", "0.001", "t-2"))
    ids = [f["tradeId"] for f in first["fills"]] + [f["tradeId"] for f in second["fills"]]

    every = client.ok("GET", "myTrades", {"symbol": "BTCUSDT"})
    of_second = client.ok("GET", "myTrades", {"symbol": "BTCUSDT", "orderId": second["orderId"]})
    page = client.ok("GET", "myTrades", {"symbol": "BTCUSDT", "fromId": ids[1], "limit": 1})
    latest = client.ok("GET", "myTrades", {"symbol": "BTCUSDT", "limit": 1})

    assert [t["id"] for t in every] == ids == sorted(ids)
    assert [t["id"] for t in of_second] == ids[2:]
    assert [t["id"] for t in page] == [ids[1]]
    assert [t["id"] for t in latest] == [ids[-1]]
    trade = every[0]
    assert (trade["isBuyer"], trade["isMaker"], trade["commissionAsset"]) == (True, False, "BTC")
    assert Decimal(trade["quoteQty"]) == Decimal(trade["price"]) * Decimal(trade["qty"])


def test_account_lists_the_configured_balances_as_strings(client: SignedClient) -> None:
    account = client.ok("GET", "account")
    assert account["canTrade"] is True
    assert account["commissionRates"]["taker"] == "0.00100000"
    assert {b["asset"]: b["free"] for b in account["balances"]} == {
        "BTC": "100.00000000",
        "ETH": "2000.00000000",
        "USDT": "10000000.00000000",
    }


def test_admin_orders_records_every_accepted_order_with_its_trades(
    venue: str, client: SignedClient
) -> None:
    client.ok("POST", "order", market("BUY", "0.001", "rec-1"))
    client.ok("POST", "order", limit("SELL", "0.001", "90000", "GTC", "rec-2"))

    orders = admin_get(venue, "orders")["orders"]

    assert [(o["clientOrderId"], o["status"]) for o in orders] == [
        ("rec-1", "FILLED"),
        ("rec-2", "NEW"),
    ]
    assert orders[0]["executedQty"] == "0.00100000"
    assert len(orders[0]["trades"]) == 1


def test_venues_keep_separate_accounts(sim: SimulatorThread, client: SignedClient) -> None:
    client.ok("POST", "order", market("BUY", "0.001", "iso-1"))
    other = SignedClient(sim.base_url("sim-b"))
    assert balances(other)["BTC"] == (Decimal(100), Decimal(0))
    assert admin_get(sim.base_url("sim-b"), "orders")["orders"] == []
    # The same client order id is new on another venue.
    other.ok("POST", "order", market("BUY", "0.001", "iso-1"))


# --- signing ---------------------------------------------------------------------------------


def test_missing_api_key_is_minus_2014_and_unknown_key_minus_2015(client: SignedClient) -> None:
    missing = client.call("GET", "account", headers={})
    wrong = SignedClient(client.base_url, api_key="someone-else").call("GET", "account")
    assert (missing.status_code, missing.json()["code"]) == (401, -2014)
    assert (wrong.status_code, wrong.json()["code"]) == (401, -2015)


def test_wrong_secret_is_an_invalid_signature(client: SignedClient) -> None:
    forged = SignedClient(client.base_url, secret="not-the-secret")
    assert forged.error("GET", "account") == (
        400,
        -1022,
        "Signature for this request is not valid.",
    )
    assert forged.error("POST", "order", market("BUY", "0.001", "x"))[1] == -1022


def test_tampered_parameters_break_the_signature(client: SignedClient) -> None:
    query = client.signed_query(market("BUY", "0.001", "tamper"))
    resp = requests.post(
        f"{client.base_url}/api/v3/order",
        data=query.replace("0.001", "0.002"),
        headers={"X-MBX-APIKEY": client.api_key},
        timeout=HTTP_TIMEOUT_S,
    )
    assert (resp.status_code, resp.json()["code"]) == (400, -1022)


def test_stale_timestamp_and_missing_signature_are_refused(client: SignedClient) -> None:
    stale = client.call("GET", "account", timestamp_ms=1_000_000_000_000)
    unsigned = requests.get(
        f"{client.base_url}/api/v3/account",
        params={"timestamp": str(time.time_ns() // 1_000_000)},
        headers={"X-MBX-APIKEY": client.api_key},
        timeout=HTTP_TIMEOUT_S,
    )
    assert (stale.status_code, stale.json()["code"]) == (400, -1021)
    assert (unsigned.status_code, unsigned.json()["code"]) == (400, -1102)
