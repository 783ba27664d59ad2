"""ccxt's real ``ccxt.pro.binance`` class watching the simulator's depth stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.pro
import pytest
import requests

from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import HTTP_TIMEOUT_S, admin_post, admin_state

WATCH_TIMEOUT_S = 5.0
# Bounds every "watch until" loop: at 20 ms walk steps and 100 ms pushes this is ~30 s.
MAX_WATCHES = 300


def pro_binance(sim: SimulatorThread, venue: str) -> Any:
    """ccxt.pro's real binance class with REST and WebSocket pointed at a simulated venue."""
    exchange = ccxt.pro.binance(
        {
            "enableRateLimit": False,
            "timeout": int(HTTP_TIMEOUT_S * 1000),
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
                "adjustForTimeDifference": False,
            },
        }
    )
    api = dict(exchange.urls["api"])
    api["public"] = api["private"] = sim.api_url(venue)
    api["ws"] = {**api["ws"], "spot": sim.base_url(venue).replace("http://", "ws://") + "/ws"}
    exchange.urls["api"] = api
    return exchange


def with_exchange(sim: SimulatorThread, venue: str, body: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        exchange = pro_binance(sim, venue)
        try:
            await exchange.load_markets()
            await body(exchange)
        finally:
            await exchange.close()

    asyncio.run(main())


async def watch(exchange: Any, symbol: str = "BTC/USDT") -> Any:
    return await asyncio.wait_for(exchange.watch_order_book(symbol), WATCH_TIMEOUT_S)


def sim_book(sim: SimulatorThread, venue: str) -> tuple[int, list[list[float]], list[list[float]]]:
    """The venue's whole BTC/USDT book as plain ccxt parses it (floats, from the same strings)."""
    resp = requests.get(
        f"{sim.api_url(venue)}/depth",
        params={"symbol": "BTCUSDT", "limit": "1000"},
        timeout=HTTP_TIMEOUT_S,
    )
    resp.raise_for_status()
    doc = resp.json()
    bids = [[float(Decimal(p)), float(Decimal(q))] for p, q in doc["bids"]]
    asks = [[float(Decimal(p)), float(Decimal(q))] for p, q in doc["asks"]]
    return int(doc["lastUpdateId"]), bids, asks


async def watch_until_frozen_id(exchange: Any, sim: SimulatorThread, venue: str, book: Any) -> Any:
    """Freeze the venue and watch on from ``book`` until ccxt has the venue's last update."""
    admin_post(sim.base_url(venue), "/admin/freeze", {"frozen": True})
    target = admin_state(sim.base_url(venue))["symbols"]["BTC/USDT"]["lastUpdateId"]
    for _ in range(MAX_WATCHES):
        if book["nonce"] >= target:
            break
        book = await watch(exchange)
    assert book["nonce"] == target
    return book


async def watch_until_error(exchange: Any) -> None:
    """Watch until a call raises (the error propagates); bounded by ``MAX_WATCHES``."""
    for _ in range(MAX_WATCHES):
        await watch(exchange)


def test_watch_order_book_follows_and_matches_the_sim(sim: SimulatorThread) -> None:
    async def body(exchange: Any) -> None:
        nonces = []
        for _ in range(6):
            book = await watch(exchange)
            nonces.append(book["nonce"])
            assert book["bids"][0][0] < book["asks"][0][0]
        assert nonces == sorted(nonces)
        assert len(set(nonces)) >= 5
        book = await watch_until_frozen_id(exchange, sim, "sim-a", book)
        nonce, bids, asks = sim_book(sim, "sim-a")
        assert book["nonce"] == nonce
        assert list(book["bids"]) == bids
        assert list(book["asks"]) == asks

    with_exchange(sim, "sim-a", body)


def test_after_a_gap_ccxt_raises_checksum_error_and_resyncs(sim: SimulatorThread) -> None:
    async def body(exchange: Any) -> None:
        snapshots: list[int] = []
        fetch = exchange.fetch_order_book

        async def counting_fetch(*args: Any, **kwargs: Any) -> Any:
            book = await fetch(*args, **kwargs)
            snapshots.append(book["nonce"])
            return book

        # Observe (not change) the REST snapshots ccxt takes for the stream.
        exchange.fetch_order_book = counting_fetch
        await watch(exchange)
        await watch(exchange)
        assert len(snapshots) == 1
        admin_post(sim.base_url("sim-b"), "/admin/stream/gap", {})
        with pytest.raises(ccxt.ChecksumError):
            await watch_until_error(exchange)
        # The next call resubscribes and rebuilds from a fresh REST snapshot.
        resynced = await watch(exchange)
        assert resynced["bids"]
        assert len(snapshots) == 2
        assert snapshots[1] > snapshots[0]
        book = await watch_until_frozen_id(exchange, sim, "sim-b", resynced)
        nonce, bids, asks = sim_book(sim, "sim-b")
        assert book["nonce"] == nonce
        assert list(book["bids"]) == bids
        assert list(book["asks"]) == asks

    with_exchange(sim, "sim-b", body)


def test_stream_down_is_a_network_error_and_back_up_watches_again(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")

    async def body(exchange: Any) -> None:
        await watch(exchange)
        pending = asyncio.ensure_future(watch(exchange))
        admin_post(base, "/admin/stream", {"down": True})
        with pytest.raises(ccxt.NetworkError):
            await pending
        with pytest.raises(ccxt.NetworkError):
            await watch(exchange)
        # REST still answers while the stream is down.
        assert (await exchange.fetch_order_book("BTC/USDT", limit=5))["bids"]
        admin_post(base, "/admin/stream", {"down": False})
        book = None
        for _ in range(50):
            try:
                book = await watch(exchange)
                break
            except ccxt.NetworkError:
                # ccxt backs off its re-dials after a refused one; just dial again.
                await asyncio.sleep(0.1)
        assert book is not None
        assert book["bids"]

    with_exchange(sim, "sim-a", body)
