"""RFQ pricing through the RfqService: tiers, fees, volatility, inventory and outliers.

Books as in test_rfq_service: around 60,000 USDT on three venues, composite 59999 / 60001.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from desk.clock import FakeClock
from desk.config.model import DeskConfig, TierConfig
from desk.domain.rejects import RfqRejectCode
from desk.domain.side import Side
from tests.unit.builders import BTC_ASKS, BTC_BIDS, book, filled_snapshot, rfq, with_instrument
from tests.unit.rfq_rig import Rig, quoted, rejected, rig


def with_tier(config: DeskConfig, tier: TierConfig, comp_id: str = "CLIENT1") -> DeskConfig:
    counterparties = dict(config.counterparties)
    counterparties[comp_id] = replace(counterparties[comp_id], tier=tier.name)
    return replace(config, tiers={**config.tiers, tier.name: tier}, counterparties=counterparties)


# --- tiers ---------------------------------------------------------------------------------


def test_handle_when_tier_multiplier_below_one_then_margin_scaled_down(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    config = with_tier(plain_config, TierConfig("gold", spread_multiplier=Decimal("0.6")))

    q = quoted(rig(config, clock).service.handle(rfq()))

    # 3 bps of 60000 = 18 on each side of the composite 59999 / 60001.
    assert (q.bid_px, q.offer_px) == (Decimal(59981), Decimal(60019))
    assert q.pricing is not None
    assert (q.pricing.tier, q.pricing.margin_bps) == ("gold", Decimal("3.0"))


def test_handle_when_tier_caps_size_then_size_above_max_names_the_tier(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    tier = TierConfig("silver", max_qty={"BTC/USDT": Decimal(5)})
    desk = rig(with_tier(plain_config, tier), clock)

    outcome = rejected(
        desk.service.handle(rfq(order_qty=Decimal(6))), RfqRejectCode.SIZE_ABOVE_MAX, 3
    )

    assert outcome.text == "SIZE_ABOVE_MAX: 6 BTC exceeds max 5 BTC for the silver tier"


def test_handle_when_tier_caps_notional_then_notional_limit(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    tier = TierConfig("silver", max_notional=Decimal(100_000))
    desk = rig(with_tier(plain_config, tier), clock)

    outcome = rejected(
        desk.service.handle(rfq(order_qty=Decimal(2))), RfqRejectCode.NOTIONAL_LIMIT, 3
    )

    assert "exceeds max 100000 USDT" in outcome.text


# --- fees and volatility -------------------------------------------------------------------


def test_handle_when_venues_charge_taker_fees_then_hedge_cost_sets_each_side(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    config = replace(
        plain_config,
        venues=tuple(replace(v, taker_fee_bps=Decimal(10)) for v in plain_config.venues),
    )

    q = quoted(rig(config, clock).service.handle(rfq()))

    # Hedging 1 BTC: 60001 * 1.001 = 60061.001 to buy, 59999 * 0.999 = 59939.001 to sell,
    # then the 30 USDT margin.
    assert (q.bid_px, q.offer_px) == (Decimal("59909.00"), Decimal("60091.01"))
    assert q.pricing is not None
    assert q.pricing.hedge_ask == Decimal("60061.001")


def test_handle_when_volatility_rises_then_spread_widens(desk: Rig) -> None:
    calm = quoted(desk.service.handle(rfq()))
    volatility = desk.pricing.volatility
    for mid in ("60000", "60300", "59900", "60400", "59800"):
        volatility.observe("BTC/USDT", Decimal(mid))

    wild = quoted(desk.service.handle(rfq()))

    assert wild.offer_px is not None
    assert calm.offer_px is not None
    assert wild.bid_px is not None
    assert calm.bid_px is not None
    assert wild.offer_px > calm.offer_px
    assert wild.bid_px < calm.bid_px
    assert wild.pricing is not None
    assert wild.pricing.sigma_bps > 0
    assert wild.pricing.vol_charge_bps > 0


# --- inventory -----------------------------------------------------------------------------


def test_handle_when_desk_long_then_both_sides_lower(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    flat = quoted(rig(plain_config, clock).service.handle(rfq()))
    long = quoted(rig(plain_config, clock, inventory_net={"BTC": Decimal(2)}).service.handle(rfq()))

    # 2 bps per BTC held, 2 BTC: 4 bps of 60000 = 24 lower on both sides.
    assert flat.bid_px is not None
    assert flat.offer_px is not None
    assert long.bid_px == flat.bid_px - 24
    assert long.offer_px == flat.offer_px - 24
    assert long.pricing is not None
    assert long.pricing.skew_bps == Decimal(-4)


def test_handle_when_skew_exceeds_margin_then_offer_stays_above_fair(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    # 3 BTC long: -6 bps (36) would take the 60031 offer below the fair 60000.
    q = quoted(rig(plain_config, clock, inventory_net={"BTC": Decimal(3)}).service.handle(rfq()))

    assert q.offer_px == Decimal("60000.01")
    assert q.bid_px == Decimal(59969 - 36)


def test_handle_when_desk_short_beyond_cap_then_skew_capped(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    q = quoted(rig(plain_config, clock, inventory_net={"BTC": Decimal(-40)}).service.handle(rfq()))

    assert q.pricing is not None
    assert q.pricing.skew_bps == Decimal(10)


def test_handle_when_desk_at_long_limit_then_two_way_request_gets_offer_only(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(plain_config, clock, inventory_net={"BTC": Decimal(50)})

    q = quoted(desk.service.handle(rfq()))

    assert q.bid_px is None
    assert q.offer_px is not None


def test_handle_when_client_sell_would_push_desk_beyond_limit_then_inventory_limit(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(plain_config, clock, inventory_net={"BTC": Decimal(49)})

    outcome = rejected(
        desk.service.handle(rfq(side=Side.SELL, order_qty=Decimal(2))),
        RfqRejectCode.INVENTORY_LIMIT,
        3,
    )

    assert outcome.text == (
        "INVENTORY_LIMIT: the desk's BTC position 49 would become 51, beyond its limit of "
        "50 BTC either way"
    )
    assert len(desk.quote_book) == 0


def test_handle_when_client_buy_reduces_long_inventory_then_quoted(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(plain_config, clock, inventory_net={"BTC": Decimal(50)})

    q = quoted(desk.service.handle(rfq(side=Side.BUY, order_qty=Decimal(2))))

    assert q.offer_px is not None


# --- venues --------------------------------------------------------------------------------


def test_handle_when_one_venue_five_percent_off_then_excluded_and_price_unchanged(
    desk: Rig, plain_config: DeskConfig, clock: FakeClock
) -> None:
    honest = quoted(desk.service.handle(rfq()))
    snapshot = filled_snapshot(clock.monotonic(), venues=("sim-a", "sim-b"))
    off = tuple((str(Decimal(p) * Decimal("1.05")), s) for p, s in BTC_BIDS)
    off_asks = tuple((str(Decimal(p) * Decimal("1.05")), s) for p, s in BTC_ASKS)
    snapshot.update(book("sim-c", bids=off, asks=off_asks), clock.monotonic())

    q = quoted(rig(plain_config, clock, snapshot=snapshot).service.handle(rfq()))

    assert q.pricing is not None
    assert q.pricing.venues_used == ("sim-a", "sim-b")
    assert q.pricing.venues_excluded["sim-c"].startswith("outlier 500")
    assert (q.bid_px, q.offer_px) == (honest.bid_px, honest.offer_px)


def test_handle_when_size_beyond_slippage_and_penalty_policy_then_priced_at_penalty(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    config = with_instrument(
        plain_config,
        "BTC/USDT",
        over_slippage="penalty",
        slippage_penalty_bps=Decimal(100),
    )
    desk = rig(config, clock, snapshot=filled_snapshot(clock.monotonic(), ("sim-a",)))

    q = quoted(desk.service.handle(rfq(side=Side.BUY, order_qty=Decimal(20))))

    # 13 BTC within the 50 bps limit, 7 BTC at 60001 * 1.015.
    within = Decimal(60001) + Decimal(60002) * 2 + Decimal(60010) * 10
    expected_hedge = (within + 7 * Decimal(60001) * Decimal("1.015")) / 20
    assert q.pricing is not None
    assert q.pricing.hedge_ask == expected_hedge
    assert q.pricing.penalised_qty == Decimal(7)
    assert q.offer_px is not None
    assert q.offer_px > expected_hedge


# --- the quote path stays off the disk and the network --------------------------------------

_WATCHED = threading.local()
_SEEN: list[str] = []
# Audit event names (docs.python.org/3/library/audit_events.html) that mean a file, a socket,
# a database or a process; "open" covers builtins.open and os.open.
_IO_EVENTS = (
    "open",
    "socket.",
    "sqlite3.",
    "subprocess.",
    "os.system",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "os.remove",
    "os.rename",
    "os.mkdir",
    "shutil.",
)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if getattr(_WATCHED, "on", False) and event.startswith(_IO_EVENTS):
        _SEEN.append(event)


_hook_installed = False


@pytest.fixture
def io_audit() -> Iterator[list[str]]:
    """Records disk and network audit events raised by this thread while the test runs."""
    global _hook_installed
    if not _hook_installed:
        # Audit hooks cannot be removed; this one is inert unless a test switches it on.
        sys.addaudithook(_audit)
        _hook_installed = True
    _SEEN.clear()
    _WATCHED.on = True
    try:
        yield _SEEN
    finally:
        _WATCHED.on = False


def test_handle_when_quoting_then_no_disk_or_network_io(desk: Rig, io_audit: list[str]) -> None:
    quoted(desk.service.handle(rfq()))
    quoted(desk.service.handle(rfq(side=Side.SELL, order_qty=None, cash_order_qty=Decimal(5000))))

    assert io_audit == []


def test_io_audit_when_socket_opened_then_recorded(io_audit: list[str]) -> None:
    with socket.socket():
        pass

    assert io_audit, "the audit hook must see I/O, or the test above proves nothing"
