"""The desk's ccxt order adapter against the real simulator through ccxt's real binance.

Each fault the simulator can inject is checked to arrive at the hedger as the desk error it
must act on, and every order the adapter reports is compared with the venue's own record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest

from desk.config.model import VenueConfig
from desk.domain.side import Side
from desk.venues.ccxt_factory import make_exchange
from desk.venues.ccxt_orders import CcxtVenueOrders, open_venue_orders
from desk.venues.errors import (
    AmbiguousOrderOutcome,
    InsufficientBalance,
    PermanentVenueError,
    RateLimited,
    TransientVenueError,
    VenueError,
)
from desk.venues.orders import ExchangeOrderStatus, VenueOrders
from desk.venues.request_throttle import RequestThrottle
from exchange_sim.config import DEMO_API_KEY, DEMO_API_SECRET
from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import admin_post
from tests.exchange_sim.signed_http import admin_get

KEY_ENV, SECRET_ENV = "TEST_SIM_A_API_KEY", "TEST_SIM_A_API_SECRET"
BTC = "BTC/USDT"
QTY = Decimal("0.002")


@pytest.fixture
def venue(sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch) -> VenueConfig:
    """sim-a as the desk configures a venue, with the demo keys in the environment."""
    monkeypatch.setenv(KEY_ENV, DEMO_API_KEY)
    monkeypatch.setenv(SECRET_ENV, DEMO_API_SECRET)
    return VenueConfig(
        name="sim-a",
        ccxt_id="binance",
        api_url=sim.api_url("sim-a"),
        api_key_env=KEY_ENV,
        secret_env=SECRET_ENV,
    )


@pytest.fixture
def admin(sim: SimulatorThread) -> str:
    return sim.base_url("sim-a")


def run(
    venue: VenueConfig, body: Callable[[VenueOrders], Awaitable[Any]], timeout_ms: int = 3000
) -> Any:
    async def main() -> Any:
        orders = open_venue_orders(venue, timeout_ms=timeout_ms)
        try:
            return await body(orders)
        finally:
            await orders.close()

    return asyncio.run(main())


def buy(cid: str, qty: Decimal = QTY) -> Callable[[VenueOrders], Awaitable[Any]]:
    return lambda orders: orders.place_market(BTC, Side.BUY, qty, cid)


def raised(
    venue: VenueConfig, body: Callable[[VenueOrders], Awaitable[Any]], **kw: Any
) -> VenueError:
    with pytest.raises(VenueError) as caught:
        run(venue, body, **kw)
    return caught.value


def venue_orders(admin: str) -> list[tuple[str, str]]:
    return [(o["clientOrderId"], o["status"]) for o in admin_get(admin, "orders")["orders"]]


# --- order entry and reads -----------------------------------------------------------------


def test_place_market_reports_fills_exactly_as_the_venue_booked_them(
    venue: VenueConfig, admin: str
) -> None:
    state = run(venue, buy("otc-b1-c1-v0"))

    assert (state.client_order_id, state.status) == ("otc-b1-c1-v0", ExchangeOrderStatus.FILLED)
    assert (state.qty, state.filled_qty) == (QTY, QTY)
    (record,) = admin_get(admin, "orders")["orders"]
    assert state.exchange_order_id == str(record["orderId"])
    assert [(f.trade_id, f.price, f.qty, f.fee, f.fee_currency) for f in state.fills] == [
        (str(t["id"]), Decimal(t["price"]), Decimal(t["qty"]), Decimal(t["commission"]), "BTC")
        for t in record["trades"]
    ]
    fill = state.fills[0]
    assert (fill.venue, fill.symbol, fill.side) == ("sim-a", BTC, Side.BUY)
    assert fill.client_order_id == "otc-b1-c1-v0"
    assert fill.executed_at.tzinfo is UTC
    assert all(isinstance(f.price, Decimal) and isinstance(f.fee, Decimal) for f in state.fills)


def test_requests_are_paced_by_ccxts_bucket_with_idle_time_credited(venue: VenueConfig) -> None:
    exchange = make_exchange(venue, timeout_ms=3000)

    async def body() -> tuple[float, float]:
        try:
            await exchange.load_markets()  # a heavy endpoint: the count goes negative...
            await asyncio.sleep(0.3)  # ...and idle time brings it back up to capacity
            tokens, charged = exchange.throttler.tokens, exchange.throttler.charged
            params = {"clientOrderId": "otc-t1"}
            await exchange.create_order(BTC, "market", "buy", QTY, None, params)
            return tokens, exchange.throttler.charged - charged
        finally:
            await exchange.close()

    tokens, order_cost = asyncio.run(body())

    assert isinstance(exchange.throttler, RequestThrottle)
    assert exchange.throttler.refill_per_ms == 1 / exchange.rateLimit  # ccxt's own bucket
    assert tokens == 1  # ccxt's capacity: idle time was credited, up to the cap
    assert order_cost > 0  # the order endpoint's cost was charged


def test_order_by_client_id_returns_the_same_order_and_fills(venue: VenueConfig) -> None:
    async def body(orders: VenueOrders) -> tuple[Any, Any, Any]:
        never = await orders.order_by_client_id(BTC, "otc-never")
        placed = await orders.place_market(BTC, Side.SELL, QTY, "otc-q1")
        found = await orders.order_by_client_id(BTC, "otc-q1")
        return never, placed, found

    never, placed, found = run(venue, body)

    assert never is None
    assert found == placed
    assert found.fills[0].fee_currency == "USDT"
    assert found.fills[0].side is Side.SELL


def test_limit_ioc_fills_what_crosses_and_expires(venue: VenueConfig, admin: str) -> None:
    admin_post(admin, "/admin/freeze", {"frozen": True})

    async def body(orders: VenueOrders) -> tuple[Any, Any]:
        crossing = await orders.place_limit_ioc(
            BTC, Side.BUY, Decimal("50"), Decimal("100000"), "otc-ioc1"
        )
        far = await orders.place_limit_ioc(
            BTC, Side.BUY, Decimal("0.01"), Decimal("1000"), "otc-ioc2"
        )
        return crossing, far

    crossing, far = run(venue, body)

    # 50 BTC is more than the whole book: what was there filled, the rest expired.
    assert crossing.status is ExchangeOrderStatus.EXPIRED
    assert 0 < crossing.filled_qty < Decimal(50)
    assert len(crossing.fills) == 20  # every level of the book
    assert sum(f.qty for f in crossing.fills) == crossing.filled_qty
    assert (far.status, far.filled_qty, far.fills) == (ExchangeOrderStatus.EXPIRED, 0, ())


def test_free_balance_follows_the_account(venue: VenueConfig, admin: str) -> None:
    admin_post(admin, "/admin/balances", {"USDT": "123.45678901"})

    async def body(orders: VenueOrders) -> tuple[Decimal, Decimal, Decimal]:
        return (
            await orders.free_balance("BTC"),
            await orders.free_balance("USDT"),
            await orders.free_balance("SOL"),
        )

    assert run(venue, body) == (Decimal(100), Decimal("123.45678901"), Decimal(0))


# --- placement failures ----------------------------------------------------------------------


def test_rate_limit_carries_the_venues_retry_after(venue: VenueConfig, admin: str) -> None:
    admin_post(admin, "/admin/faults", {"rate_limit": {"status": 429, "retry_after_s": 3}})
    err = raised(venue, buy("otc-rl"))
    assert isinstance(err, RateLimited)
    assert err.retry_after_s == 3.0
    assert venue_orders(admin) == []


def test_ban_418_is_rate_limited_too(venue: VenueConfig, admin: str) -> None:
    admin_post(admin, "/admin/faults", {"rate_limit": {"status": 418, "retry_after_s": 60}})
    err = raised(venue, buy("otc-ban"))
    assert isinstance(err, RateLimited)
    assert err.retry_after_s == 60.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_after_placing_is_ambiguous_and_resolved_by_the_client_id(
    venue: VenueConfig, admin: str, status: int
) -> None:
    admin_post(admin, "/admin/faults", {"order_5xx": {"count": 1, "status": status}})

    async def body(orders: VenueOrders) -> tuple[VenueError, Any]:
        with pytest.raises(VenueError) as caught:
            await orders.place_market(BTC, Side.BUY, QTY, "otc-5xx")
        return caught.value, await orders.order_by_client_id(BTC, "otc-5xx")

    err, resolved = run(venue, body)

    assert type(err) is AmbiguousOrderOutcome
    assert resolved.status is ExchangeOrderStatus.FILLED
    assert sum(f.qty for f in resolved.fills) == QTY
    assert venue_orders(admin) == [("otc-5xx", "FILLED")]


def test_5xx_before_placing_is_ambiguous_and_the_query_says_never_placed(
    venue: VenueConfig, admin: str
) -> None:
    admin_post(admin, "/admin/faults", {"order_5xx": {"count": 1, "placed": False}})

    async def body(orders: VenueOrders) -> tuple[VenueError, Any]:
        with pytest.raises(VenueError) as caught:
            await orders.place_market(BTC, Side.BUY, QTY, "otc-lost")
        return caught.value, await orders.order_by_client_id(BTC, "otc-lost")

    err, resolved = run(venue, body)

    assert type(err) is AmbiguousOrderOutcome
    assert resolved is None


def test_timeout_is_ambiguous_and_the_order_is_found_afterwards(
    venue: VenueConfig, admin: str
) -> None:
    admin_post(admin, "/admin/faults", {"order_timeout": {"count": 1, "delay_s": 3}})

    async def body(orders: VenueOrders) -> tuple[VenueError, Any]:
        with pytest.raises(VenueError) as caught:
            await orders.place_market(BTC, Side.BUY, QTY, "otc-slow")
        return caught.value, await orders.order_by_client_id(BTC, "otc-slow")

    err, resolved = run(venue, body, timeout_ms=500)

    assert type(err) is AmbiguousOrderOutcome
    assert resolved.status is ExchangeOrderStatus.FILLED
    assert venue_orders(admin) == [("otc-slow", "FILLED")]


def test_outage_during_placement_is_ambiguous(venue: VenueConfig, admin: str) -> None:
    async def body(orders: VenueOrders) -> Any:
        await orders.free_balance("BTC")  # markets and session ready before the outage
        admin_post(admin, "/admin/outage", {"down": True})
        return await orders.place_market(BTC, Side.BUY, QTY, "otc-down")

    assert type(raised(venue, body)) is AmbiguousOrderOutcome


def test_reused_client_id_is_ambiguous_not_refused(venue: VenueConfig, admin: str) -> None:
    async def body(orders: VenueOrders) -> Any:
        await orders.place_market(BTC, Side.BUY, QTY, "otc-dup")
        return await orders.place_market(BTC, Side.BUY, QTY, "otc-dup")

    # The order with that id exists: the hedger must find it by querying, not give up.
    assert type(raised(venue, body)) is AmbiguousOrderOutcome
    assert venue_orders(admin) == [("otc-dup", "FILLED")]


def test_insufficient_balance(venue: VenueConfig, admin: str) -> None:
    admin_post(admin, "/admin/balances", {"USDT": "1"})
    assert type(raised(venue, buy("otc-poor"))) is InsufficientBalance
    admin_post(admin, "/admin/balances", {"USDT": "1000000"})
    admin_post(admin, "/admin/faults", {"insufficient_balance": True})
    assert type(raised(venue, buy("otc-poor2"))) is InsufficientBalance


@pytest.mark.parametrize(
    ("setup", "body"),
    [
        ({"reject_lot_size": True}, buy("otc-lot")),
        (None, buy("otc-notional", Decimal("0.00001"))),  # under the minimum notional
        (None, lambda o: o.place_market("DOGE/USDT", Side.BUY, QTY, "otc-sym")),
    ],
    ids=["lot-size", "notional", "bad-symbol"],
)
def test_refusals_are_permanent(
    venue: VenueConfig,
    admin: str,
    setup: dict[str, Any] | None,
    body: Callable[[VenueOrders], Awaitable[Any]],
) -> None:
    if setup:
        admin_post(admin, "/admin/faults", setup)
    err = raised(venue, body)
    assert type(err) is PermanentVenueError
    assert venue_orders(admin) == []


@pytest.mark.parametrize(
    ("qty", "price"), [(Decimal("0.000015"), Decimal("60000")), (QTY, Decimal("60000.001"))]
)
def test_amounts_ccxt_would_round_are_refused_before_sending(
    venue: VenueConfig, admin: str, qty: Decimal, price: Decimal
) -> None:
    err = raised(venue, lambda o: o.place_limit_ioc(BTC, Side.BUY, qty, price, "otc-round"))
    assert type(err) is PermanentVenueError
    assert venue_orders(admin) == []


def test_wrong_credentials_are_permanent(
    venue: VenueConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    assert type(raised(venue, buy("otc-auth"))) is PermanentVenueError
    assert type(raised(venue, lambda o: o.free_balance("BTC"))) is PermanentVenueError


# --- read failures ---------------------------------------------------------------------------


def test_reads_during_an_outage_are_transient(venue: VenueConfig, admin: str) -> None:
    async def body(orders: VenueOrders) -> list[VenueError]:
        await orders.free_balance("BTC")
        admin_post(admin, "/admin/outage", {"down": True})
        errors: list[VenueError] = []
        for read in (
            lambda: orders.order_by_client_id(BTC, "otc-any"),
            lambda: orders.free_balance("BTC"),
        ):
            with pytest.raises(VenueError) as caught:
                await read()
            errors.append(caught.value)
        return errors

    assert [type(e) for e in run(venue, body)] == [TransientVenueError, TransientVenueError]


def test_reads_under_a_rate_limit_are_rate_limited(venue: VenueConfig, admin: str) -> None:
    async def body(orders: VenueOrders) -> Any:
        await orders.free_balance("BTC")
        admin_post(admin, "/admin/faults", {"rate_limit": {"retry_after_s": 2}})
        return await orders.order_by_client_id(BTC, "otc-any")

    err = raised(venue, body)
    assert isinstance(err, RateLimited)
    assert err.retry_after_s == 2.0


def test_prepare_loads_the_markets_before_any_order(venue: VenueConfig) -> None:
    exchange = make_exchange(venue, timeout_ms=3000)

    async def body() -> None:
        orders = CcxtVenueOrders(venue, exchange)
        try:
            await orders.prepare()
        finally:
            await orders.close()

    asyncio.run(body())

    assert BTC in exchange.markets


def test_prepare_during_an_outage_is_transient(venue: VenueConfig, admin: str) -> None:
    admin_post(admin, "/admin/outage", {"down": True})

    err = raised(venue, lambda orders: orders.prepare())

    assert isinstance(err, TransientVenueError)
