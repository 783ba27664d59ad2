"""Prices remembered between book updates: reused only while every input is the same."""

from __future__ import annotations

from decimal import Decimal

from desk.clock import FakeClock
from desk.config.model import DeskConfig
from desk.pricing import composite
from desk.pricing.quote_pricer import TwoWayPrice, price_two_way
from tests.unit.builders import BTC_ASKS, BTC_BIDS, book, filled_snapshot
from tests.unit.rfq_rig import Rig, rig

SYMBOL = "BTC/USDT"
QTY = Decimal("2")


def _price_now(r: Rig, config: DeskConfig, qty: Decimal = QTY, tier: str = "gold") -> TwoWayPrice:
    inst = config.instruments[SYMBOL]
    books = r.pricing.healthy(SYMBOL)
    return r.pricing.price(inst, config.tiers[tier], books, qty)


def _computed_afresh(r: Rig, config: DeskConfig, qty: Decimal = QTY) -> TwoWayPrice:
    inst = config.instruments[SYMBOL]
    return price_two_way(
        inst,
        config.pricing,
        config.tiers["gold"],
        r.pricing.healthy(SYMBOL),
        qty,
        sigma_bps=r.pricing.volatility.sigma_bps(SYMBOL),
        inventory=r.inventory.net(inst.base),
    )


def test_price_when_same_books_size_and_inputs_then_the_same_price_object(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    r = rig(shipped_config, clock)

    first = _price_now(r, shipped_config)

    assert _price_now(r, shipped_config) is first
    assert first == _computed_afresh(r, shipped_config)


def test_price_when_inventory_changes_then_priced_afresh_with_its_skew(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    r = rig(shipped_config, clock)
    before = _price_now(r, shipped_config)

    r.inventory.apply("BTC", Decimal("3"))
    after = _price_now(r, shipped_config)

    assert after != before
    assert after == _computed_afresh(r, shipped_config)
    assert after.inputs.inventory == Decimal("3")


def test_price_when_volatility_changes_then_priced_afresh(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    r = rig(shipped_config, clock)
    before = _price_now(r, shipped_config)

    for mid in ("60000", "60300", "59700", "60400"):
        r.pricing.volatility.observe(SYMBOL, Decimal(mid))
    after = _price_now(r, shipped_config)

    assert after.inputs.sigma_bps != before.inputs.sigma_bps
    assert after == _computed_afresh(r, shipped_config)


def test_price_when_a_venue_book_changes_then_priced_from_the_new_books(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    snapshot = filled_snapshot(clock.monotonic())
    r = rig(shipped_config, clock, snapshot=snapshot)
    before = _price_now(r, shipped_config)

    higher = tuple((str(Decimal(p) + 20), s) for p, s in BTC_ASKS)
    snapshot.update(book("sim-a", bids=BTC_BIDS, asks=higher), clock.monotonic())
    after = _price_now(r, shipped_config)

    assert after.inputs.top_ask > before.inputs.top_ask
    assert after == _computed_afresh(r, shipped_config)


def test_price_when_another_tier_or_size_then_not_the_remembered_one(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    r = rig(shipped_config, clock)
    gold = _price_now(r, shipped_config)

    silver = _price_now(r, shipped_config, tier="silver")
    bigger = _price_now(r, shipped_config, qty=Decimal("5"))

    assert silver.offer > gold.offer
    assert bigger.offer > gold.offer
    assert _price_now(r, shipped_config) is gold


def test_price_when_more_sizes_than_remembered_then_still_right_and_memory_bounded(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    r = rig(shipped_config, clock)
    sizes = [Decimal(n) / 100 for n in range(1, composite._REMEMBERED * 2)]

    for qty in sizes:
        assert _price_now(r, shipped_config, qty=qty) == _computed_afresh(r, shipped_config, qty)

    assert len(r.pricing.healthy(SYMBOL).memo) <= composite._REMEMBERED
