"""Volatility: an EWMA of log returns of the composite mid on fixed time bars.

The sampler runs on its own thread, off the quote path; quoting only reads the latest
estimate, an immutable Decimal swapped in whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import structlog

from desk.clock import Clock
from desk.config.model import PricingConfig
from desk.periodic import PeriodicThread
from desk.pricing.depth import BPS

log = structlog.get_logger("desk.pricing")


class EwmaVolatility:
    """RiskMetrics-style EWMA variance of one symbol's bar returns.

    ``observe`` takes the mid at the end of a bar and how many bars passed since the last
    observation (a bar without a usable composite is skipped, and the next return is spread
    over the bars it covers). ``sigma_bps`` is the estimate per square-root second, in bps.
    """

    def __init__(self, bar_ms: int, lam: Decimal) -> None:
        self._bar_s = Decimal(bar_ms) / 1000
        self._lambda = lam
        self._last_mid: Decimal | None = None
        self._variance: Decimal | None = None
        self._sigma_bps: Decimal | None = None

    def observe(self, mid: Decimal, bars: int = 1) -> None:
        if mid <= 0 or bars < 1:
            raise ValueError(f"need a positive mid and at least one bar, got {mid}, {bars}")
        previous, self._last_mid = self._last_mid, mid
        if previous is None:
            return
        log_return = (mid / previous).ln()
        per_bar = log_return * log_return / bars
        if self._variance is None:
            self._variance = per_bar
        else:
            self._variance = self._lambda * self._variance + (1 - self._lambda) * per_bar
        self._sigma_bps = (self._variance / self._bar_s).sqrt() * BPS

    @property
    def sigma_bps(self) -> Decimal | None:
        """The estimate in bps per square-root second; None before the first return."""
        return self._sigma_bps


class VolatilityBook:
    """One EWMA per symbol plus the configured floor; read by pricing from any thread."""

    def __init__(self, symbols: Sequence[str], config: PricingConfig) -> None:
        self._config = config
        self._trackers = {s: EwmaVolatility(config.vol_bar_ms, config.vol_lambda) for s in symbols}

    def observe(self, symbol: str, mid: Decimal, bars: int = 1) -> None:
        self._trackers[symbol].observe(mid, bars)

    def sigma_bps(self, symbol: str) -> Decimal:
        """The volatility pricing uses: the estimate, never below the floor."""
        measured = self._trackers[symbol].sigma_bps
        floor = self._config.vol_floor_bps
        return floor if measured is None else max(measured, floor)

    def measured_bps(self, symbol: str) -> Decimal | None:
        return self._trackers[symbol].sigma_bps


MidSource = Callable[[str], Decimal | None]
"""The composite mid of a symbol now, or None when there is no reliable market."""


class VolatilitySampler:
    """Samples every symbol's composite mid once a bar on a daemon thread."""

    def __init__(
        self,
        book: VolatilityBook,
        symbols: Sequence[str],
        mid_of: MidSource,
        config: PricingConfig,
        clock: Clock,
    ) -> None:
        self._book = book
        self._symbols = tuple(symbols)
        self._mid_of = mid_of
        self._bar_s = config.vol_bar_ms / 1000
        self._clock = clock
        self._missed = dict.fromkeys(self._symbols, 0)
        self._thread = PeriodicThread("vol-sampler", self._bar_s, self.sample, clock)

    def sample(self) -> None:
        """Take one bar's sample of every symbol (the thread calls this; so can tests)."""
        for symbol in self._symbols:
            self._missed[symbol] += 1
            # Nothing may escape: an exception here would end the sampler thread for good and
            # leave every symbol's volatility frozen at its last estimate.
            try:
                mid = self._mid_of(symbol)
                if mid is None:
                    continue
                self._book.observe(symbol, mid, self._missed[symbol])
            except Exception:
                log.exception("vol.sample_failed", symbol=symbol)
                continue
            self._missed[symbol] = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._thread.stop(timeout)
