"""The unhedged-exposure alert: an instrument whose net position stays above the limit.

It runs in the desk's process, beside the quote path, whichever process hedges: it reads
the desk's inventory (client fills as booked, exchange fills as the hedger reports them)
and the desk's books, and it halts the desk's quoting.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import structlog

from desk.clock import Clock
from desk.config.model import DeskConfig
from desk.domain.money import fmt
from desk.periodic import PeriodicThread
from desk.positions.inventory import Inventory
from desk.risk.halts import RuntimeHalts

log = structlog.get_logger("desk.hedging")


class ExposureWatch:
    """Alerts (and halts quoting) when an instrument stays unhedged beyond the limit."""

    def __init__(
        self,
        config: DeskConfig,
        mid_of: Callable[[str], Decimal | None],
        inventory: Inventory,
        halts: RuntimeHalts,
        clock: Clock,
    ) -> None:
        self._config = config
        self._mid_of = mid_of
        self._inventory = inventory
        self._halts = halts
        self._clock = clock
        self._over_limit_since: dict[str, float] = {}
        self._alerted: set[str] = set()
        self._thread = PeriodicThread(
            "exposure-watch", config.hedging.poll_ms / 1000, self._check_logged, clock
        )

    def check(self) -> None:
        """Look at every instrument once (the thread calls this every ``poll_ms``; so can
        tests)."""
        hedging = self._config.hedging
        now = self._clock.monotonic()
        for symbol, inst in self._config.instruments.items():
            mid = self._mid_of(symbol)
            if mid is None:
                continue
            position = self._inventory.net(inst.base)
            exposure = abs(position) * mid
            if exposure <= hedging.max_unhedged_notional:
                self._over_limit_since.pop(symbol, None)
                if symbol in self._alerted:
                    self._alerted.discard(symbol)
                    self._halts.resume(symbol)
                    log.info("hedge.alert.cleared", symbol=symbol, exposure=fmt(exposure))
                continue
            since = self._over_limit_since.setdefault(symbol, now)
            if (now - since) * 1000 < hedging.max_unhedged_ms:
                continue
            if symbol in self._alerted:
                continue  # one alert per episode, not one per look
            self._alerted.add(symbol)
            reason = (
                f"unhedged {fmt(position)} {inst.base} ({fmt(exposure.quantize(inst.tick))} "
                f"{inst.quote}) above {fmt(hedging.max_unhedged_notional)} for more than "
                f"{hedging.max_unhedged_ms} ms"
            )
            if hedging.halt_on_alert:
                self._halts.halt(symbol, reason)
            log.error(
                "hedge.alert.unhedged", symbol=symbol, halted=hedging.halt_on_alert, reason=reason
            )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._thread.stop(timeout)

    def _check_logged(self) -> None:
        # Nothing may escape: the thread would end, and with it every future alert.
        try:
            self.check()
        except Exception:
            log.exception("hedge.exposure_check_failed")
