"""ccxt's real ``async_support.binance`` class against the simulator over HTTP."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import admin_post, async_binance


async def _with_client(api_url: str, body: Any) -> Any:
    ex = async_binance(api_url)
    try:
        await ex.load_markets()
        return await body(ex)
    finally:
        await ex.close()


def test_async_load_markets_and_order_book(sim: SimulatorThread) -> None:
    async def body(ex: Any) -> Any:
        return ex.markets, await ex.fetch_order_book("BTC/USDT", limit=20)

    markets, book = asyncio.run(_with_client(sim.api_url("sim-a"), body))
    assert {"BTC/USDT", "ETH/USDT"} <= set(markets)
    assert Decimal(str(markets["ETH/USDT"]["precision"]["price"])) == Decimal("0.01")
    assert len(book["bids"]) == 20
    assert len(book["asks"]) == 20
    assert book["bids"][0][0] < book["asks"][0][0]
    assert [p for p, _ in book["asks"]] == sorted(p for p, _ in book["asks"])


def test_books_move_and_last_update_id_grows(sim: SimulatorThread) -> None:
    async def body(ex: Any) -> tuple[list[int], set[float]]:
        nonces: list[int] = []
        bests: set[float] = set()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            book = await ex.fetch_order_book("BTC/USDT", limit=5)
            nonces.append(book["nonce"])
            bests.add(book["bids"][0][0])
            if len(set(nonces)) >= 4 and len(bests) >= 2:
                break
            await asyncio.sleep(0.03)
        return nonces, bests

    nonces, bests = asyncio.run(_with_client(sim.api_url("sim-a"), body))
    assert nonces == sorted(nonces)
    assert len(set(nonces)) >= 4
    assert len(bests) >= 2


def test_two_venues_are_close_but_different(sim: SimulatorThread) -> None:
    async def top(ex: Any) -> Any:
        return await ex.fetch_order_book("BTC/USDT", limit=20)

    async def both() -> list[Any]:
        return list(
            await asyncio.gather(
                _with_client(sim.api_url("sim-a"), top), _with_client(sim.api_url("sim-b"), top)
            )
        )

    book_a, book_b = asyncio.run(both())
    # Different seeds: the books differ (20 random sizes and prices a side)...
    assert book_a["bids"] != book_b["bids"]
    # ...but both follow the shared reference, so their mids are within a few bps.
    mid_a = (book_a["bids"][0][0] + book_a["asks"][0][0]) / 2
    mid_b = (book_b["bids"][0][0] + book_b["asks"][0][0]) / 2
    assert abs(mid_a - mid_b) / mid_a < 0.003


def test_async_outage_and_bad_symbol(sim: SimulatorThread) -> None:
    async def body(ex: Any) -> None:
        with pytest.raises(ccxt.BadSymbol):
            await ex.publicGetDepth({"symbol": "DOGEUSDT"})
        admin_post(sim.base_url("sim-b"), "/admin/outage", {"down": True})
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_order_book("ETH/USDT", limit=5)
        admin_post(sim.base_url("sim-b"), "/admin/outage", {"down": False})
        assert (await ex.fetch_order_book("ETH/USDT", limit=5))["bids"]

    asyncio.run(_with_client(sim.api_url("sim-b"), body))
