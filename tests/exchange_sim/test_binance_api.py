"""Raw HTTP checks of the Binance response shapes and error codes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import requests

from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import HTTP_TIMEOUT_S


def _get(sim: SimulatorThread, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sim.api_url('sim-a')}{path}", params=params, timeout=HTTP_TIMEOUT_S)


def test_ping_and_time(sim: SimulatorThread) -> None:
    assert _get(sim, "/ping").json() == {}
    assert isinstance(_get(sim, "/time").json()["serverTime"], int)


def test_exchange_info_shape(sim: SimulatorThread) -> None:
    info = _get(sim, "/exchangeInfo").json()
    assert info["timezone"] == "UTC"
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    assert btc["status"] == "TRADING"
    assert btc["permissionSets"] == [["SPOT"]]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    only = _get(sim, "/exchangeInfo", symbol="ETHUSDT").json()["symbols"]
    assert [s["symbol"] for s in only] == ["ETHUSDT"]
    listed = _get(sim, "/exchangeInfo", symbols=json.dumps(["BTCUSDT"])).json()["symbols"]
    assert [s["symbol"] for s in listed] == ["BTCUSDT"]


def test_depth_shape_uses_plain_decimal_strings(sim: SimulatorThread) -> None:
    depth = _get(sim, "/depth", symbol="BTCUSDT", limit=10).json()
    assert set(depth) == {"lastUpdateId", "bids", "asks"}
    assert len(depth["bids"]) == 10
    assert len(depth["asks"]) == 10
    for price, qty in depth["bids"] + depth["asks"]:
        assert isinstance(price, str)
        assert isinstance(qty, str)
        assert "e" not in price.lower()
        assert "e" not in qty.lower()
        assert Decimal(price) % Decimal("0.01") == 0
        assert Decimal(qty) > 0


@pytest.mark.parametrize("limit", ["5", "10", "20", "50", "100", "500", "1000", "5000"])
def test_depth_accepts_binance_limits(sim: SimulatorThread, limit: str) -> None:
    depth = _get(sim, "/depth", symbol="ETHUSDT", limit=limit).json()
    assert len(depth["bids"]) == min(int(limit), 20)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": "BTCUSDT", "limit": "7"}, -1100),
        ({"symbol": "BTCUSDT", "limit": "abc"}, -1100),
        ({"symbol": "BTCUSDT", "limit": "-5"}, -1100),
        ({"symbol": "XRPUSDT"}, -1121),
        ({"symbol": "BTC/USDT"}, -1100),
        ({}, -1102),
    ],
)
def test_depth_errors_are_binance_style(
    sim: SimulatorThread, params: dict[str, str], code: int
) -> None:
    resp = _get(sim, "/depth", **params)
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == code
    assert body["msg"]


def test_book_ticker_one_some_all(sim: SimulatorThread) -> None:
    one = _get(sim, "/ticker/bookTicker", symbol="BTCUSDT").json()
    assert one["symbol"] == "BTCUSDT"
    assert Decimal(one["bidPrice"]) < Decimal(one["askPrice"])
    every = _get(sim, "/ticker/bookTicker").json()
    assert [t["symbol"] for t in every] == ["BTCUSDT", "ETHUSDT"]
    some = _get(sim, "/ticker/bookTicker", symbols='["ETHUSDT"]').json()
    assert [t["symbol"] for t in some] == ["ETHUSDT"]
    assert _get(sim, "/ticker/bookTicker", symbols='["NOPE"]').json()["code"] == -1121
    assert _get(sim, "/ticker/bookTicker", symbols="[").json()["code"] == -1100
    both = _get(sim, "/ticker/bookTicker", symbol="BTCUSDT", symbols='["BTCUSDT"]')
    assert both.json()["code"] == -1128
