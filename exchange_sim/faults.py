"""Fault injection state of one simulated venue, and the latency middleware.

The admin API (:mod:`exchange_sim.fault_admin`) sets these; the order API and the
middleware consult them. Counted faults (``rate_limit``, ``order_5xx``,
``order_timeout``) apply to the next N matching requests and then switch themselves off,
so a test arms exactly the failures it wants. Everything runs on the simulator's event
loop, so plain attributes need no lock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

# What a client sees with the rate-limit fault: the real venue's -1003 bodies.
RATE_LIMIT_CODE = -1003
_RATE_LIMIT_MSGS = {
    429: (
        "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. "
        "Please use the websocket for live updates to avoid polling the API."
    ),
    418: (
        "Way too many requests; IP(127.0.0.1) banned until {until}. "
        "Please use the websocket for live updates to avoid bans."
    ),
}
RATE_LIMIT_STATUSES = frozenset(_RATE_LIMIT_MSGS)
ORDER_5XX_STATUSES = frozenset({500, 502, 503, 504})
# Binance's documented "send status unknown" error, which its gateway answers with 503.
_UNKNOWN_STATUS_CODE = -1007
_UNKNOWN_STATUS_MSG = (
    "Timeout waiting for response from backend server. "
    "Send status unknown; execution status unknown."
)


@dataclass(slots=True)
class RateLimitFault:
    """The next ``remaining`` signed calls answer ``status`` with ``Retry-After``."""

    status: int
    retry_after_s: int
    remaining: int


@dataclass(slots=True)
class Order5xxFault:
    """The next ``remaining`` placements answer ``status``; after placing if ``placed``."""

    remaining: int
    placed: bool
    status: int


@dataclass(slots=True)
class OrderTimeoutFault:
    """The next ``remaining`` placements are booked, then answered ``delay_s`` late."""

    remaining: int
    delay_s: float


@dataclass(slots=True)
class VenueFaults:
    """Every fault of one venue; the defaults mean "behave normally"."""

    latency_ms: int = 0
    rate_limit: RateLimitFault | None = None
    order_5xx: Order5xxFault | None = None
    order_timeout: OrderTimeoutFault | None = None
    insufficient_balance: bool = False
    reject_lot_size: bool = False

    def clear(self) -> None:
        """Back to normal behaviour."""
        self.latency_ms = 0
        self.rate_limit = self.order_5xx = self.order_timeout = None
        self.insufficient_balance = self.reject_lot_size = False

    def take_rate_limit(self) -> RateLimitFault | None:
        """The rate-limit fault if armed, counting this call against it."""
        fault = self.rate_limit
        if fault is None:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.rate_limit = None
        return fault

    def take_order_5xx(self) -> Order5xxFault | None:
        """The 5xx fault if armed, counting this placement against it."""
        fault = self.order_5xx
        if fault is None:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.order_5xx = None
        return fault

    def take_order_timeout(self) -> OrderTimeoutFault | None:
        """The timeout fault if armed, counting this placement against it."""
        fault = self.order_timeout
        if fault is None:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.order_timeout = None
        return fault

    def describe(self) -> dict[str, Any]:
        """JSON-ready state for ``GET /admin/faults``."""
        rl, o5, ot = self.rate_limit, self.order_5xx, self.order_timeout
        return {
            "latency_ms": self.latency_ms,
            "rate_limit": None
            if rl is None
            else {"status": rl.status, "retry_after_s": rl.retry_after_s, "count": rl.remaining},
            "order_5xx": None
            if o5 is None
            else {"count": o5.remaining, "placed": o5.placed, "status": o5.status},
            "order_timeout": None if ot is None else {"count": ot.remaining, "delay_s": ot.delay_s},
            "insufficient_balance": self.insufficient_balance,
            "reject_lot_size": self.reject_lot_size,
        }


def rate_limited_response(fault: RateLimitFault, now_ms: int) -> web.Response:
    """Binance's 429/418 answer: -1003 body and the ``Retry-After`` header (seconds)."""
    msg = _RATE_LIMIT_MSGS[fault.status].format(until=now_ms + fault.retry_after_s * 1000)
    return web.json_response(
        {"code": RATE_LIMIT_CODE, "msg": msg},
        status=fault.status,
        headers={"Retry-After": str(fault.retry_after_s)},
    )


def order_5xx_response(status: int) -> web.Response:
    """A 5xx after which the client cannot know whether its order exists.

    503 is Binance's own "execution status unknown" JSON; 500/502/504 are the plain-text
    pages a front proxy answers with, which carry no Binance error code at all.
    """
    if status == 503:
        return web.json_response(
            {"code": _UNKNOWN_STATUS_CODE, "msg": _UNKNOWN_STATUS_MSG}, status=503
        )
    return web.Response(status=status, text=f"{status} {HTTPStatus(status).phrase}")


def latency_middleware(faults: VenueFaults) -> Middleware:
    """Middleware delaying every ``/api/`` request by the venue's ``latency_ms``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if faults.latency_ms > 0 and request.path.startswith("/api/"):
            await asyncio.sleep(faults.latency_ms / 1000)
        return await handler(request)

    return middleware
