"""Token bucket per counterparty for QuoteRequests."""

from __future__ import annotations

import threading
from decimal import Decimal


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; each RFQ takes one."""

    def __init__(self, rate_per_s: Decimal, burst: int, now_mono: float) -> None:
        self._rate = float(rate_per_s)  # a rate, not money: float is right here
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = now_mono
        self._lock = threading.Lock()

    def try_take(self, now_mono: float) -> bool:
        with self._lock:
            elapsed = max(0.0, now_mono - self._last)
            self._last = now_mono
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
