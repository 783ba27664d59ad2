"""ccxt's real async ``binance`` class trading on the simulator, and how it sees each fault."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from exchange_sim.config import DEMO_API_KEY, DEMO_API_SECRET
from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import admin_post, async_binance
from tests.exchange_sim.signed_http import admin_get

Body = Callable[[Any], Awaitable[Any]]


def run(
    sim: SimulatorThread, body: Body, *, secret: str = DEMO_API_SECRET, timeout_ms: int = 5000
) -> Any:
    """Run ``body(exchange)`` with a signed-in ccxt binance on sim-a; Decimal numbers."""

    async def main() -> Any:
        ex = async_binance(sim.api_url("sim-a"))
        ex.apiKey, ex.secret, ex.timeout = DEMO_API_KEY, secret, timeout_ms
        ex.number = Decimal
        try:
            await ex.load_markets()
            return await body(ex)
        finally:
            await ex.close()

    return asyncio.run(main())


def test_ccxt_places_queries_cancels_and_reads_trades_and_balance(sim: SimulatorThread) -> None:
    async def body(ex: Any) -> dict[str, Any]:
        bought = await ex.create_order(
            "BTC/USDT", "market", "buy", Decimal("0.002"), None, {"clientOrderId": "cc-1"}
        )
        resting = await ex.create_order(
            "BTC/USDT",
            "limit",
            "sell",
            Decimal("0.01"),
            Decimal("99000"),
            {"clientOrderId": "cc-2"},
        )
        open_ids = [o["clientOrderId"] for o in await ex.fetch_open_orders("BTC/USDT")]
        canceled = await ex.cancel_order(resting["id"], "BTC/USDT")
        queried = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "cc-1"})
        trades = await ex.fetch_my_trades("BTC/USDT", None, None, {"orderId": bought["id"]})
        balance = await ex.fetch_balance()
        return {
            "bought": bought,
            "resting": resting,
            "open_ids": open_ids,
            "canceled": canceled,
            "queried": queried,
            "trades": trades,
            "balance": balance,
        }

    r = run(sim, body)
    bought = r["bought"]
    assert (bought["clientOrderId"], bought["status"]) == ("cc-1", "closed")
    assert bought["filled"] == Decimal("0.002")
    assert isinstance(bought["cost"], Decimal)
    assert r["resting"]["status"] == "open"
    assert r["open_ids"] == ["cc-2"]
    assert r["canceled"]["status"] == "canceled"
    assert (r["queried"]["id"], r["queried"]["status"]) == (bought["id"], "closed")
    assert [t["id"] for t in r["trades"]] == [str(f["tradeId"]) for f in bought["info"]["fills"]]
    assert sum(t["amount"] for t in r["trades"]) == Decimal("0.002")
    fee = sum(Decimal(f["commission"]) for f in bought["info"]["fills"])
    assert r["balance"]["BTC"]["free"] == Decimal(100) + Decimal("0.002") - fee
    assert r["balance"]["USDT"]["free"] == Decimal(10_000_000) - bought["cost"]


def _market_buy(cid: str = "fault-1", qty: str = "0.001") -> Body:
    async def body(ex: Any) -> Any:
        return await ex.create_order(
            "BTC/USDT", "market", "buy", Decimal(qty), None, {"clientOrderId": cid}
        )

    return body


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({"rate_limit": {"status": 429, "count": 1}}, ccxt.DDoSProtection),
        ({"rate_limit": {"status": 418, "count": 1}}, ccxt.DDoSProtection),
        ({"order_5xx": {"count": 1, "status": 500}}, ccxt.ExchangeNotAvailable),
        ({"order_5xx": {"count": 1, "status": 502}}, ccxt.ExchangeNotAvailable),
        ({"order_5xx": {"count": 1, "status": 503}}, ccxt.RequestTimeout),
        ({"order_5xx": {"count": 1, "status": 504}}, ccxt.RequestTimeout),
        ({"insufficient_balance": True}, ccxt.InsufficientFunds),
        ({"reject_lot_size": True}, ccxt.InvalidOrder),
    ],
)
def test_ccxt_raises_its_class_for_each_order_fault(
    sim: SimulatorThread, faults: dict[str, Any], expected: type[Exception]
) -> None:
    admin_post(sim.base_url("sim-a"), "/admin/faults", faults)
    with pytest.raises(expected):
        run(sim, _market_buy())


def test_ccxt_sees_retry_after_on_a_rate_limit(sim: SimulatorThread) -> None:
    admin_post(
        sim.base_url("sim-a"), "/admin/faults", {"rate_limit": {"retry_after_s": 3, "count": 1}}
    )

    async def body(ex: Any) -> str:
        with pytest.raises(ccxt.DDoSProtection):
            await ex.fetch_balance()
        headers: dict[str, str] = ex.last_response_headers
        return headers["Retry-After"]

    assert run(sim, body) == "3"


def test_ccxt_times_out_while_the_order_is_booked(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")
    admin_post(base, "/admin/faults", {"order_timeout": {"count": 1, "delay_s": 3}})

    with pytest.raises(ccxt.RequestTimeout):
        run(sim, _market_buy("late-1"), timeout_ms=500)

    orders = admin_get(base, "orders")["orders"]
    assert [(o["clientOrderId"], o["status"]) for o in orders] == [("late-1", "FILLED")]


def test_ccxt_classifies_refusals(sim: SimulatorThread) -> None:
    async def body(ex: Any) -> list[type[Exception]]:
        raised: list[type[Exception]] = []
        attempts: list[Callable[[], Awaitable[Any]]] = [
            lambda: ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "nobody"}),
            lambda: _market_buy("dup")(ex),
            lambda: _market_buy("dup")(ex),
            # About 0.6 USDT: Binance says "Filter failure: NOTIONAL" with -1013.
            lambda: _market_buy("small", "0.00001")(ex),
        ]
        for attempt in attempts:
            try:
                await attempt()
            except ccxt.BaseError as exc:
                raised.append(type(exc))
        return raised

    assert run(sim, body) == [
        ccxt.OrderNotFound,
        ccxt.InvalidOrder,  # the reused client order id (-2010)
        ccxt.BadRequest,  # ccxt maps -1013 by code unless the text names LOT_SIZE
    ]


def test_ccxt_with_the_wrong_secret_is_not_authenticated(sim: SimulatorThread) -> None:
    with pytest.raises(ccxt.AuthenticationError):
        run(sim, lambda ex: ex.fetch_balance(), secret="wrong")


def test_ccxt_sees_an_outage_on_order_entry_as_maintenance(sim: SimulatorThread) -> None:
    async def body(ex: Any) -> None:
        # After load_markets, so it is the order that meets the outage.
        admin_post(sim.base_url("sim-a"), "/admin/outage", {"down": True})
        await ex.create_order(
            "BTC/USDT", "market", "buy", Decimal("0.001"), None, {"clientOrderId": "down-1"}
        )

    with pytest.raises(ccxt.OnMaintenance):
        run(sim, body)
