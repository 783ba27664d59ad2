"""Admin routes for order entry: fault injection, balances, and the venue's order record.

Each venue keeps its own faults, balances and orders. JSON in, JSON out; a bad body is a
400 ``{"error": ...}`` naming the key.

``POST /admin/faults``
    Arms the faults named in the body and leaves the others as they are; ``null`` for a
    key switches that fault off. Answers the state as ``GET /admin/faults`` does.

    * ``{"latency_ms": 200}`` -- every ``/api/`` request (market data included) waits that
      long before it is handled (0 to 10000; 0 = off).
    * ``{"rate_limit": {"status": 429, "retry_after_s": 1, "count": 5}}`` -- the next
      ``count`` signed calls answer ``status`` (429 or 418) with a ``Retry-After`` header
      and Binance's -1003 body, before authentication, without doing anything. ccxt raises
      ``DDoSProtection``.
    * ``{"order_5xx": {"count": 1, "placed": true, "status": 500}}`` -- the next ``count``
      order placements answer ``status`` (500, 502, 503 or 504). With ``placed`` (the
      default) the order is first booked and matched, so the client sees an error for an
      order that exists ("unknown status"); ``placed: false`` answers without booking.
      503 carries Binance's -1007 "execution status unknown" JSON (ccxt:
      ``RequestTimeout``); the others a proxy's plain-text page (ccxt:
      ``ExchangeNotAvailable``, ``RequestTimeout`` for 504).
    * ``{"order_timeout": {"count": 1, "delay_s": 5}}`` -- the next ``count`` placements
      are booked and matched, and then answered ``delay_s`` (up to 60) seconds late, so a
      client with a shorter timeout gives up (ccxt: ``RequestTimeout``).
    * ``{"insufficient_balance": true}`` -- every placement is refused with -2010
      "Account has insufficient balance for requested action." (ccxt:
      ``InsufficientFunds``) until switched off.
    * ``{"reject_lot_size": true}`` -- every placement is refused with -1013
      "Filter failure: LOT_SIZE" (ccxt: ``InvalidOrder``) until switched off.

``POST /admin/faults/clear``
    Body ``{}``: every fault off. Answers the (cleared) state.

``GET /admin/faults``
    ``{"latency_ms", "rate_limit", "order_5xx", "order_timeout", "insufficient_balance",
    "reject_lot_size"}``; a counted fault shows how many calls it still applies to, or
    ``null`` once used up.

``POST /admin/balances``
    Body ``{"BTC": "0", "USDT": "250000"}`` sets those assets' free amounts outright
    (locked amounts of open orders are untouched). Answers as ``GET /admin/balances``.

``GET /admin/balances``
    ``{"venue", "balances": {asset: {"free", "locked"}}}`` as decimal strings.

``GET /admin/orders``
    ``{"venue", "orders": [...]}``: every order the venue ever accepted, oldest first, in
    the shape of ``GET /api/v3/order`` plus its ``trades``: lets a test prove an order was
    placed exactly once.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from aiohttp import web

from exchange_sim.admin_json import AdminError, json_body, json_handler
from exchange_sim.faults import (
    ORDER_5XX_STATUSES,
    RATE_LIMIT_STATUSES,
    Order5xxFault,
    OrderTimeoutFault,
    RateLimitFault,
    VenueFaults,
)
from exchange_sim.order_wire import admin_order
from exchange_sim.trading import VenueTrading

_log = structlog.get_logger(__name__)
_ASSET_RE = re.compile(r"^[A-Z0-9]{1,10}$")
_MAX_LATENCY_MS = 10_000
_MAX_COUNT = 10_000
_MAX_RETRY_AFTER_S = 3600
_MAX_DELAY_S = 60


def _int(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AdminError(400, f"{key} must be an integer from {low} to {high}")
    return value


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise AdminError(400, f"{key} must be true or false")
    return value


def _table(body: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    value = body[key]
    if not isinstance(value, dict):
        raise AdminError(400, f"{key} must be an object (or null to switch it off)")
    unknown = set(value) - allowed
    if unknown:
        raise AdminError(400, f"{key}: unknown keys {sorted(unknown)}; allowed {sorted(allowed)}")
    return value


def _rate_limit(body: dict[str, Any]) -> RateLimitFault:
    t = _table(body, "rate_limit", {"status", "retry_after_s", "count"})
    status = _int(t, "status", 429, 418, 429)
    if status not in RATE_LIMIT_STATUSES:
        raise AdminError(400, "rate_limit.status must be 429 or 418")
    return RateLimitFault(
        status=status,
        retry_after_s=_int(t, "retry_after_s", 1, 0, _MAX_RETRY_AFTER_S),
        remaining=_int(t, "count", 1, 1, _MAX_COUNT),
    )


def _order_5xx(body: dict[str, Any]) -> Order5xxFault:
    t = _table(body, "order_5xx", {"count", "placed", "status"})
    status = _int(t, "status", 500, 500, 599)
    if status not in ORDER_5XX_STATUSES:
        raise AdminError(400, f"order_5xx.status must be one of {sorted(ORDER_5XX_STATUSES)}")
    return Order5xxFault(
        remaining=_int(t, "count", 1, 1, _MAX_COUNT),
        placed=_bool(t, "placed", True),
        status=status,
    )


def _order_timeout(body: dict[str, Any]) -> OrderTimeoutFault:
    t = _table(body, "order_timeout", {"count", "delay_s"})
    raw = t.get("delay_s", 5)
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise AdminError(400, "order_timeout.delay_s must be a number of seconds")
    try:
        delay = Decimal(str(raw).strip())
    except InvalidOperation:
        raise AdminError(400, f"order_timeout.delay_s is not a number: {raw!r}") from None
    if not delay.is_finite() or not 0 < delay <= _MAX_DELAY_S:
        raise AdminError(400, f"order_timeout.delay_s must be above 0 and at most {_MAX_DELAY_S}")
    # A duration for asyncio.sleep, not money: float is what the event loop takes.
    return OrderTimeoutFault(remaining=_int(t, "count", 1, 1, _MAX_COUNT), delay_s=float(delay))


_FAULT_KEYS = (
    "latency_ms",
    "rate_limit",
    "order_5xx",
    "order_timeout",
    "insufficient_balance",
    "reject_lot_size",
)


def apply_faults(faults: VenueFaults, body: dict[str, Any]) -> None:
    """Validate every key of ``body`` first, then arm (or, for ``null``, clear) each."""
    unknown = set(body) - set(_FAULT_KEYS)
    if unknown:
        raise AdminError(400, f"unknown keys {sorted(unknown)}; allowed: {', '.join(_FAULT_KEYS)}")
    changes: dict[str, Any] = {}
    for key in body:
        if body[key] is None:
            changes[key] = 0 if key == "latency_ms" else None
        elif key == "latency_ms":
            changes[key] = _int(body, key, 0, 0, _MAX_LATENCY_MS)
        elif key == "rate_limit":
            changes[key] = _rate_limit(body)
        elif key == "order_5xx":
            changes[key] = _order_5xx(body)
        elif key == "order_timeout":
            changes[key] = _order_timeout(body)
        else:
            changes[key] = _bool(body, key, False)
    for key, value in changes.items():
        # The flags' off state is False, not None.
        if value is None and key in ("insufficient_balance", "reject_lot_size"):
            value = False
        setattr(faults, key, value)


class FaultAdminApi:
    """The order-entry admin handlers of one venue; :meth:`routes` plugs them in."""

    def __init__(self, venue_name: str, trading: VenueTrading, faults: VenueFaults) -> None:
        """Control ``faults`` and ``trading``'s account on the venue ``venue_name``."""
        self._venue = venue_name
        self._trading = trading
        self._faults = faults

    def routes(self) -> list[web.RouteDef]:
        """Route table for the venue's aiohttp application."""
        return [
            web.get("/admin/faults", json_handler(self.get_faults)),
            web.post("/admin/faults", json_handler(self.set_faults)),
            web.post("/admin/faults/clear", json_handler(self.clear_faults)),
            web.get("/admin/balances", json_handler(self.get_balances)),
            web.post("/admin/balances", json_handler(self.set_balances)),
            web.get("/admin/orders", json_handler(self.orders)),
        ]

    def _fault_state(self) -> dict[str, Any]:
        return {"venue": self._venue, **self._faults.describe()}

    async def get_faults(self, request: web.Request) -> dict[str, Any]:
        """``GET /admin/faults``."""
        return self._fault_state()

    async def set_faults(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/faults``: arm or clear the faults named in the body."""
        body = await json_body(request)
        if not body:
            raise AdminError(400, f"body must set at least one of {', '.join(_FAULT_KEYS)}")
        apply_faults(self._faults, body)
        state = self._fault_state()
        _log.info("sim.admin.faults", **state)
        return state

    async def clear_faults(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/faults/clear``: every fault off."""
        if await json_body(request):
            raise AdminError(400, "body must be empty or {}")
        self._faults.clear()
        _log.info("sim.admin.faults_cleared", venue=self._venue)
        return self._fault_state()

    async def get_balances(self, request: web.Request) -> dict[str, Any]:
        """``GET /admin/balances``."""
        return self._balances()

    async def set_balances(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/balances``: set free amounts of the assets named."""
        body = await json_body(request)
        if not body:
            raise AdminError(400, 'body must name at least one asset, e.g. {"BTC": "0"}')
        amounts: dict[str, Decimal] = {}
        for asset, raw in body.items():
            if not _ASSET_RE.match(asset):
                raise AdminError(400, f"asset {asset!r} must match {_ASSET_RE.pattern}")
            if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
                raise AdminError(400, f"{asset} must be a decimal string")
            try:
                amount = Decimal(str(raw).strip())
            except InvalidOperation:
                raise AdminError(400, f"{asset} is not a decimal: {raw!r}") from None
            if not amount.is_finite() or amount < 0:
                raise AdminError(400, f"{asset} must be a finite amount of at least 0")
            amounts[asset] = amount
        for asset, amount in amounts.items():
            self._trading.account.set_free(asset, amount)
        _log.info(
            "sim.admin.balances", venue=self._venue, **{a: str(v) for a, v in amounts.items()}
        )
        return self._balances()

    def _balances(self) -> dict[str, Any]:
        return {
            "venue": self._venue,
            "balances": {
                b.asset: {"free": format(b.free, "f"), "locked": format(b.locked, "f")}
                for b in self._trading.account.balances()
            },
        }

    async def orders(self, request: web.Request) -> dict[str, Any]:
        """``GET /admin/orders``: every order the venue ever accepted."""
        return {"venue": self._venue, "orders": [admin_order(o) for o in self._trading.orders()]}
