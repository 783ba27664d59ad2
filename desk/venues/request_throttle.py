"""Pacing REST requests to a venue: ccxt's leaky bucket, with idle time counted.

ccxt's own throttler (``ccxt.async_support.base.throttler``) lets a request through while its
token count is not negative and charges the endpoint's cost; the count refills at
``refillRate`` tokens per millisecond up to ``capacity``. But it measures the refill from the
moment its queue last started draining, so time spent idle between two requests is never
credited: an order sent a minute after the previous one still waits out the previous one's
cost (about 10 ms per Binance order here). For a hedger, whose orders come in bursts after
quiet periods, that wait is pure latency on every hedge.

:class:`RequestThrottle` keeps ccxt's rule, its bucket settings and its per-endpoint costs, and
refills from the last time the count was brought up to date, so a venue's limit is respected
exactly and a request after a pause goes at once. Requests are let through in arrival order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any


class RequestThrottle:
    """Awaitable gate before each REST request: ``await throttle(cost)``.

    ``bucket`` is ccxt's ``tokenBucket`` (``refillRate`` in tokens per millisecond,
    ``capacity``, default ``cost``). ``now_ms`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        bucket: Mapping[str, Any],
        *,
        now_ms: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._refill_per_ms = float(bucket["refillRate"])
        self._capacity = float(bucket["capacity"])
        self._default_cost = float(bucket["cost"])
        self._now_ms = now_ms or (lambda: time.monotonic() * 1000)
        self._sleep = sleep
        self._tokens = self._capacity  # a venue not yet asked anything owes nothing
        self._updated_ms = self._now_ms()
        self._lock: asyncio.Lock | None = None
        self.charged = 0.0  # tokens charged since creation, for inspection
        # ccxt's Exchange.open() assigns its loop here; the lock binds to the running loop.
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def refill_per_ms(self) -> float:
        """Tokens regained per millisecond (ccxt's ``refillRate``: 1 / ``rateLimit``)."""
        return self._refill_per_ms

    @property
    def tokens(self) -> float:
        """The count as of now (negative: the next request waits)."""
        self._refill()
        return self._tokens

    async def __call__(self, cost: float | None = None) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # first come, first served, as in ccxt's queue
            self._refill()
            while self._tokens < 0:
                await self._sleep(-self._tokens / self._refill_per_ms / 1000)
                self._refill()
            charge = self._default_cost if cost is None else float(cost)
            self._tokens -= charge
            self.charged += charge

    def _refill(self) -> None:
        now = self._now_ms()
        elapsed = max(0.0, now - self._updated_ms)
        self._updated_ms = max(now, self._updated_ms)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._refill_per_ms)
