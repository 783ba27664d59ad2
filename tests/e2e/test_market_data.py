"""Quotes follow the venues' books; a venue whose book stops changing stops being used."""

from __future__ import annotations

import time
from decimal import Decimal

from desk.pricing.composite import NoMarket
from tests.e2e.helpers import mid_of, quote
from tests.fixtures.desk import VENUES, RunningDesk, StartDesk
from tests.sim_admin import admin, book_path


def _sim_mid(desk: RunningDesk, venue: str, symbol: str = "BTC/USDT") -> Decimal:
    state = admin(desk.simulator.base_url(venue), "state")
    return Decimal(state["symbols"][symbol]["mid"])


def _used(desk: RunningDesk, symbol: str = "BTC/USDT") -> tuple[str, ...]:
    """The venues the desk's composite uses right now (none when there is no market)."""
    assert desk.server.core is not None
    try:
        return desk.server.core.pricing.healthy(symbol).venues_used
    except NoMarket:
        return ()


def _wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_quotes_move_when_the_venues_books_move(start_desk: StartDesk) -> None:
    desk = start_desk()
    with desk.logged_on() as c:
        before = mid_of(quote(c, "BTC/USDT", "0.1"))
        for venue in VENUES:
            admin(desk.simulator.base_url(venue), book_path("BTC/USDT"), {"shift_bps": "200"})
        try:
            target = _sim_mid(desk, "sim-a")
            assert desk.server.core is not None
            pricing = desk.server.core.pricing
            _wait_until(
                lambda: (
                    abs(pricing.healthy("BTC/USDT").top().fair - target) / target < Decimal("0.002")
                )
            )
            after = mid_of(quote(c, "BTC/USDT", "0.1"))
            assert after > before * Decimal("1.015"), (before, after)
        finally:
            for venue in VENUES:
                admin(desk.simulator.base_url(venue), book_path("BTC/USDT"), {"shift_bps": "-200"})


def test_a_frozen_venue_is_dropped_after_the_staleness_cutoff(start_desk: StartDesk) -> None:
    desk = start_desk(stale_after_ms=400)
    sim_a = desk.simulator.base_url("sim-a")
    assert desk.server.core is not None
    pricing = desk.server.core.pricing
    # 40 bps: inside the outlier band, so only staleness can drop it, yet far enough off to
    # move a three-venue composite by about 13 bps.
    admin(sim_a, book_path("BTC/USDT"), {"shift_bps": "40"})
    admin(sim_a, "freeze", {"frozen": True})
    try:
        _wait_until(lambda: _used(desk) == ("sim-b", "sim-c"))
        assert pricing.healthy("BTC/USDT").excluded["sim-a"].startswith("stale")
        with desk.logged_on() as c:
            quoted = mid_of(quote(c, "BTC/USDT", "0.1"))
        honest = (_sim_mid(desk, "sim-b") + _sim_mid(desk, "sim-c")) / 2
        assert abs(quoted - honest) / honest < Decimal("0.0005"), (quoted, honest)
    finally:
        admin(sim_a, "freeze", {"frozen": False})
        admin(sim_a, book_path("BTC/USDT"), {"shift_bps": "-40"})
    # Once it moves again it is fresh and used again.
    _wait_until(lambda: "sim-a" in _used(desk))


def test_a_venue_in_outage_is_dropped_and_recovers(start_desk: StartDesk) -> None:
    desk = start_desk(stale_after_ms=400)
    sim_b = desk.simulator.base_url("sim-b")
    admin(sim_b, "outage", {"down": True})
    try:
        _wait_until(lambda: "sim-b" not in _used(desk))
        with desk.logged_on() as c:
            assert quote(c, "BTC/USDT", "0.1").msg_type == "S"
    finally:
        admin(sim_b, "outage", {"down": False})
    _wait_until(lambda: "sim-b" in _used(desk))
