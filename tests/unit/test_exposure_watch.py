"""The unhedged-exposure alert, on a fake clock: after max_unhedged_ms over the limit, one
alert and a halt; back under the limit, the halt is lifted."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from desk.clock import FakeClock
from desk.config.model import DeskConfig
from desk.hedging.exposure import ExposureWatch
from desk.positions.inventory import Inventory
from desk.risk.halts import RuntimeHalts

BTC = "BTC/USDT"
MID = Decimal(60000)


def _watch(
    config: DeskConfig, clock: FakeClock, inventory: Inventory, *, halt: bool = True
) -> tuple[ExposureWatch, RuntimeHalts, list[tuple[str, Any]]]:
    hedging = replace(
        config.hedging,
        max_unhedged_notional=Decimal(100_000),
        max_unhedged_ms=5_000,
        halt_on_alert=halt,
    )
    ops: list[tuple[str, Any]] = []
    halts = RuntimeHalts(lambda action, details: ops.append((action, dict(details))))
    mids = {BTC: MID}
    watch = ExposureWatch(
        replace(config, hedging=hedging), mids.get, inventory, halts, clock
    )
    return watch, halts, ops


def test_over_the_limit_for_longer_than_allowed_halts_once_then_lifts(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    inventory = Inventory({"BTC": Decimal(-2)})  # 120 000 USDT short: over 100 000
    watch, halts, ops = _watch(shipped_config, clock, inventory)
    watch.check()
    clock.advance(4.9)
    watch.check()
    assert halts.reason(BTC) is None  # not yet for long enough
    clock.advance(0.2)
    watch.check()
    reason = halts.reason(BTC)
    assert reason is not None
    assert "unhedged -2 BTC" in reason
    assert "5000 ms" in reason
    clock.advance(10)
    watch.check()
    assert [action for action, _ in ops] == ["quoting.halted"]  # one per episode
    # The hedger's fills bring the desk back under the limit: quoting resumes.
    inventory.set_hedged("BTC", Decimal("1.5"))
    watch.check()
    assert halts.reason(BTC) is None
    assert [action for action, _ in ops] == ["quoting.halted", "quoting.resumed"]


def test_a_dip_under_the_limit_starts_the_clock_again(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    inventory = Inventory({"BTC": Decimal(2)})
    watch, halts, _ = _watch(shipped_config, clock, inventory)
    watch.check()
    clock.advance(4)
    inventory.set_hedged("BTC", Decimal(-1))
    watch.check()  # under: forgotten
    inventory.set_hedged("BTC", Decimal(0))
    watch.check()
    clock.advance(4)
    watch.check()
    assert halts.reason(BTC) is None
    clock.advance(1.5)
    watch.check()
    assert halts.reason(BTC) is not None


def test_without_halt_on_alert_it_only_alerts(shipped_config: DeskConfig, clock: FakeClock) -> None:
    watch, halts, ops = _watch(shipped_config, clock, Inventory({"BTC": Decimal(3)}), halt=False)
    watch.check()
    clock.advance(6)
    watch.check()
    assert halts.reason(BTC) is None
    assert ops == []


def test_an_instrument_without_a_mid_is_left_alone(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    watch, halts, _ = _watch(shipped_config, clock, Inventory({"ETH": Decimal(1000)}))
    watch.check()
    clock.advance(60)
    watch.check()
    assert halts.reason("ETH/USDT") is None
