"""Binance spot ``SIGNED`` REST endpoints of one simulated venue.

Routes (shaped like ``https://api.binance.com``; every one needs the venue's API key and
an HMAC signature, see :mod:`exchange_sim.signing`):

* ``POST /api/v3/order`` -> a MARKET or LIMIT (GTC/IOC/FOK) order, answered as ACK,
  RESULT or FULL (the default) per ``newOrderRespType``
* ``GET /api/v3/order`` / ``DELETE /api/v3/order`` -> query / cancel by ``orderId`` or
  ``origClientOrderId``
* ``GET /api/v3/openOrders[?symbol=X]``
* ``GET /api/v3/myTrades?symbol=X[&orderId=][&fromId=][&limit=]``
* ``GET /api/v3/account``

Parameters are validated as Binance does (unknown parameters -1104, malformed -1100,
missing -1102, bad enums -1115/-1116/-1117) so a client bug fails here as it would on
the real venue. The venue's faults (:mod:`exchange_sim.faults`) are applied on the way:
a rate limit before anything else, forced rejects before matching, and 5xx or a late
answer around a placement.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import structlog
from aiohttp import web

from exchange_sim.binance_api import API_PREFIX, BinanceError
from exchange_sim.faults import VenueFaults, order_5xx_response, rate_limited_response
from exchange_sim.matching import TakerSide
from exchange_sim.order_wire import (
    ResponseType,
    account,
    canceled_order,
    my_trade,
    new_order,
    queried_order,
)
from exchange_sim.orders import OrderType, TimeInForce
from exchange_sim.signing import RequestVerifier
from exchange_sim.trading import (
    OrderRequest,
    VenueTrading,
    filter_failure,
    insufficient_balance,
)
from exchange_sim.venue import SimVenue

_log = structlog.get_logger(__name__)
# Binance's own patterns for decimals and client order ids.
_DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_SIGNING_PARAMS = frozenset({"timestamp", "recvWindow"})
_MY_TRADES_DEFAULT_LIMIT = 500
_MY_TRADES_MAX_LIMIT = 1000

_SignedHandler = Callable[[dict[str, str]], Awaitable[web.StreamResponse]]


def _read_only(params: dict[str, str], allowed: frozenset[str]) -> None:
    """-1104 unless every parameter is one the endpoint reads, as the real venue checks."""
    sent = params.keys() - _SIGNING_PARAMS
    if not sent <= allowed:
        read = len(params) - len(sent - allowed)
        raise BinanceError(
            -1104,
            f"Not all sent parameters were read; read '{read}' parameter(s) "
            f"but was sent '{len(params)}'.",
        )


def _illegal(name: str, legal: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise BinanceError(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )
    return value


def _decimal(params: dict[str, str], name: str) -> Decimal:
    raw = _required(params, name)
    if not _DECIMAL_RE.match(raw):
        raise _illegal(name, _DECIMAL_RE.pattern)
    return Decimal(raw)


def _optional_int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise _illegal(name, "^[0-9]{1,20}$")
    return int(raw)


class OrderApi:
    """The signed handlers of one venue; :meth:`routes` plugs them into its app."""

    def __init__(
        self,
        venue: SimVenue,
        trading: VenueTrading,
        faults: VenueFaults,
        verifier: RequestVerifier,
        now_ms: Callable[[], int],
    ) -> None:
        """Serve ``trading`` on ``venue``, checking requests with ``verifier``."""
        self._venue = venue
        self._trading = trading
        self._faults = faults
        self._verifier = verifier
        self._now_ms = now_ms
        # Set at shutdown so late answers (order_timeout) end at once instead of holding the
        # server's shutdown for their whole delay.
        self._closing = asyncio.Event()

    def close(self) -> None:
        """Cut every deliberately delayed answer short (the venue is shutting down)."""
        self._closing.set()

    def routes(self) -> list[web.RouteDef]:
        """Route table for the venue's aiohttp application."""
        p = API_PREFIX
        return [
            web.post(f"{p}/order", self._signed(self.place_order)),
            web.get(f"{p}/order", self._signed(self.query_order)),
            web.delete(f"{p}/order", self._signed(self.cancel_order)),
            web.get(f"{p}/openOrders", self._signed(self.open_orders)),
            web.get(f"{p}/myTrades", self._signed(self.my_trades)),
            web.get(f"{p}/account", self._signed(self.account)),
        ]

    def _signed(self, handler: _SignedHandler) -> Callable[[web.Request], Awaitable[Any]]:
        """Rate-limit fault first (Binance limits before it authenticates), then signature."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            fault = self._faults.take_rate_limit()
            if fault is not None:
                _log.info("sim.fault.rate_limited", venue=self._venue.name, status=fault.status)
                return rate_limited_response(fault, self._now_ms())
            params = await self._verifier.verified_params(request)
            return await handler(params)

        return wrapped

    def _symbol(self, params: dict[str, str]) -> str:
        symbol = _required(params, "symbol")
        if not self._venue.has_exchange_id(symbol):
            raise BinanceError(-1121, "Invalid symbol.")
        return symbol

    def _order_ref(self, params: dict[str, str]) -> tuple[int | None, str | None]:
        order_id = _optional_int(params, "orderId")
        client_id = params.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        return order_id, client_id

    # --- POST /api/v3/order --------------------------------------------------------------

    def _order_request(self, params: dict[str, str]) -> tuple[OrderRequest, ResponseType]:
        _read_only(
            params,
            frozenset(
                {
                    "symbol", "side", "type", "timeInForce", "quantity", "price",
                    "newClientOrderId", "newOrderRespType",
                }
            ),
        )  # fmt: skip
        symbol = self._symbol(params)
        try:
            side = TakerSide(_required(params, "side"))
        except ValueError:
            raise BinanceError(-1117, "Invalid side.") from None
        try:
            order_type = OrderType(_required(params, "type"))
        except ValueError:
            raise BinanceError(-1116, "Invalid orderType.") from None
        qty = _decimal(params, "quantity")
        price: Decimal | None = None
        tif: TimeInForce | None = None
        if order_type is OrderType.LIMIT:
            price = _decimal(params, "price")
            try:
                tif = TimeInForce(_required(params, "timeInForce"))
            except ValueError:
                raise BinanceError(-1115, "Invalid timeInForce.") from None
        else:
            for extra in ("price", "timeInForce"):
                if extra in params:
                    raise BinanceError(-1106, f"Parameter '{extra}' sent when not required.")
        client_id = params.get("newClientOrderId") or f"sim_{secrets.token_hex(10)}"
        if not _CLIENT_ID_RE.match(client_id):
            raise _illegal("newClientOrderId", _CLIENT_ID_RE.pattern)
        try:
            response_type = ResponseType(params.get("newOrderRespType") or ResponseType.FULL)
        except ValueError:
            raise _illegal("newOrderRespType", "ACK|RESULT|FULL") from None
        request = OrderRequest(symbol, side, order_type, tif, qty, price, client_id)
        return request, response_type

    async def place_order(self, params: dict[str, str]) -> web.StreamResponse:
        """``POST /api/v3/order``: check, match, and answer (or fail as the faults say)."""
        request, response_type = self._order_request(params)
        faults = self._faults
        if faults.reject_lot_size:
            raise filter_failure("LOT_SIZE")
        if faults.insufficient_balance:
            raise insufficient_balance()
        fault_5xx = faults.order_5xx
        if fault_5xx is not None and not fault_5xx.placed:
            faults.take_order_5xx()
            _log.info("sim.fault.order_5xx", venue=self._venue.name, placed=False)
            return order_5xx_response(fault_5xx.status)
        order = self._trading.place(request)
        _log.info(
            "sim.order.placed",
            venue=self._venue.name,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side.value,
            type=order.type.value,
            qty=str(order.orig_qty),
            executed_qty=str(order.executed_qty),
            status=order.status.value,
        )
        # Counted only once the order exists: a placement that failed on its own merits
        # does not use up the fault.
        if faults.take_order_5xx() is not None:
            _log.info("sim.fault.order_5xx", venue=self._venue.name, placed=True)
            return order_5xx_response(fault_5xx.status if fault_5xx else 500)
        late = faults.take_order_timeout()
        if late is not None:
            _log.info("sim.fault.order_timeout", venue=self._venue.name, delay_s=late.delay_s)
            # The client gives up meanwhile; the order stays booked, its answer is lost.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), late.delay_s)
        return web.json_response(new_order(order, response_type))

    # --- queries and cancel ----------------------------------------------------------------

    async def query_order(self, params: dict[str, str]) -> web.StreamResponse:
        """``GET /api/v3/order``: one order by id or client id (-2013 if unknown)."""
        _read_only(params, frozenset({"symbol", "orderId", "origClientOrderId"}))
        symbol = self._symbol(params)
        order_id, client_id = self._order_ref(params)
        order = self._trading.find(symbol, order_id, client_id)
        return web.json_response(queried_order(order))

    async def cancel_order(self, params: dict[str, str]) -> web.StreamResponse:
        """``DELETE /api/v3/order``: cancel a resting order (-2011 if none is open)."""
        _read_only(
            params, frozenset({"symbol", "orderId", "origClientOrderId", "newClientOrderId"})
        )
        symbol = self._symbol(params)
        order_id, client_id = self._order_ref(params)
        order = self._trading.cancel(symbol, order_id, client_id)
        cancel_id = params.get("newClientOrderId") or f"sim_{secrets.token_hex(10)}"
        _log.info(
            "sim.order.canceled",
            venue=self._venue.name,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
        )
        return web.json_response(canceled_order(order, cancel_id, self._now_ms()))

    async def open_orders(self, params: dict[str, str]) -> web.StreamResponse:
        """``GET /api/v3/openOrders``: resting orders, of one symbol if given."""
        _read_only(params, frozenset({"symbol"}))
        symbol = self._symbol(params) if "symbol" in params else None
        return web.json_response([queried_order(o) for o in self._trading.open_orders(symbol)])

    async def my_trades(self, params: dict[str, str]) -> web.StreamResponse:
        """``GET /api/v3/myTrades``: the account's trades on one symbol, oldest first."""
        _read_only(params, frozenset({"symbol", "orderId", "fromId", "limit"}))
        symbol = self._symbol(params)
        limit = _optional_int(params, "limit") or _MY_TRADES_DEFAULT_LIMIT
        if limit > _MY_TRADES_MAX_LIMIT:
            raise _illegal("limit", f"1..{_MY_TRADES_MAX_LIMIT}")
        trades = self._trading.trades(
            symbol, _optional_int(params, "orderId"), _optional_int(params, "fromId"), limit
        )
        return web.json_response([my_trade(t) for t in trades])

    async def account(self, params: dict[str, str]) -> web.StreamResponse:
        """``GET /api/v3/account``: balances (free/locked) and commission rates."""
        _read_only(params, frozenset({"omitZeroBalances"}))
        balances = self._trading.account.balances()
        if params.get("omitZeroBalances") == "true":
            balances = [b for b in balances if b.free or b.locked]
        fee = self._venue.config.taker_fee_bps
        return web.json_response(account(balances, fee, self._now_ms()))
