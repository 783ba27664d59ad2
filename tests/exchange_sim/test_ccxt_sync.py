"""ccxt's real synchronous ``binance`` class against the simulator over HTTP."""

from __future__ import annotations

import time
from decimal import Decimal

import ccxt
import pytest

from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import admin_post, sync_binance


def _assert_sorted_uncrossed(book: dict, levels: int) -> None:
    bids, asks = book["bids"], book["asks"]
    assert len(bids) == levels
    assert len(asks) == levels
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert bids[0][0] < asks[0][0]
    assert all(q > 0 for _, q in (*bids, *asks))


def test_load_markets_gives_precision_and_limits(sim: SimulatorThread) -> None:
    ex = sync_binance(sim.api_url("sim-a"))
    markets = ex.load_markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    btc, eth = markets["BTC/USDT"], markets["ETH/USDT"]
    assert btc["id"] == "BTCUSDT"
    assert btc["base"] == "BTC"
    assert btc["quote"] == "USDT"
    assert btc["spot"]
    assert btc["type"] == "spot"
    assert btc["active"]
    # ccxt hands these out as floats; compare through str to Decimal exactly.
    assert Decimal(str(btc["precision"]["price"])) == Decimal("0.01")
    assert Decimal(str(btc["precision"]["amount"])) == Decimal("0.00001")
    assert Decimal(str(eth["precision"]["amount"])) == Decimal("0.0001")
    assert Decimal(str(btc["limits"]["amount"]["min"])) == Decimal("0.00001")
    assert Decimal(str(btc["limits"]["price"]["min"])) == Decimal("0.01")
    assert btc["limits"]["cost"]["min"] == 5
    assert ex.price_to_precision("BTC/USDT", 60000.123) == "60000.12"
    assert ex.amount_to_precision("ETH/USDT", 1.23456) == "1.2345"


def test_fetch_order_book_is_sorted_uncrossed_and_limited(sim: SimulatorThread) -> None:
    ex = sync_binance(sim.api_url("sim-a"))
    ex.load_markets()
    book = ex.fetch_order_book("BTC/USDT", limit=20)
    _assert_sorted_uncrossed(book, 20)
    assert isinstance(book["nonce"], int)
    assert 55000 < book["bids"][0][0] < 65000
    _assert_sorted_uncrossed(ex.fetch_order_book("ETH/USDT", limit=5), 5)
    # Default limit (100) is more than the book holds: all 20 levels come back.
    _assert_sorted_uncrossed(ex.fetch_order_book("ETH/USDT"), 20)


def test_time_and_bids_asks(sim: SimulatorThread) -> None:
    ex = sync_binance(sim.api_url("sim-b"))
    ex.load_markets()
    assert abs(ex.fetch_time() - time.time() * 1000) < 5000
    tickers = ex.fetch_bids_asks(["BTC/USDT"])
    assert set(tickers) == {"BTC/USDT"}
    assert tickers["BTC/USDT"]["bid"] < tickers["BTC/USDT"]["ask"]
    assert set(ex.fetch_bids_asks()) == {"BTC/USDT", "ETH/USDT"}


def test_bad_symbol_and_bad_limit(sim: SimulatorThread) -> None:
    ex = sync_binance(sim.api_url("sim-a"))
    ex.load_markets()
    with pytest.raises(ccxt.BadSymbol):
        ex.fetch_order_book("XRP/USDT")  # rejected by ccxt: not in the loaded markets
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        ex.publicGetDepth({"symbol": "XRPUSDT"})  # rejected by the simulator
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        ex.fetch_order_book("BTC/USDT", limit=7)
    with pytest.raises(ccxt.BadRequest, match="-1102"):
        ex.publicGetDepth({})


def test_outage_raises_exchange_not_available(sim: SimulatorThread) -> None:
    ex = sync_binance(sim.api_url("sim-a"))
    ex.load_markets()
    admin_post(sim.base_url("sim-a"), "/admin/outage", {"down": True})
    with pytest.raises(ccxt.ExchangeNotAvailable) as info:
        ex.fetch_order_book("BTC/USDT", limit=5)
    assert isinstance(info.value, ccxt.OnMaintenance)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        sync_binance(sim.api_url("sim-a")).load_markets()
    # The other venue is unaffected.
    sync_binance(sim.api_url("sim-b")).load_markets()
    admin_post(sim.base_url("sim-a"), "/admin/outage", {"down": False})
    _assert_sorted_uncrossed(ex.fetch_order_book("BTC/USDT", limit=5), 5)
