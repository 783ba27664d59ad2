"""Pricing scenarios through FIX against the simulator: outliers, crossed and thin books,
volatility, tiers, inventory and cash sizes.

The simulator is shared by the module, so every test puts back what it changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from desk.domain.money import round_down
from desk.pricing.composite import NoMarket
from tests.e2e.helpers import mid_of, order, quote, rfq
from tests.fixtures.desk import VENUES, RunningDesk, StartDesk
from tests.sim_admin import admin, book_path

BTC = "BTC/USDT"


def _wait_until(predicate: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _sim_mid(desk: RunningDesk, venue: str) -> Decimal:
    return Decimal(admin(desk.simulator.base_url(venue), "state")["symbols"][BTC]["mid"])


def _excluded(desk: RunningDesk) -> dict[str, str]:
    assert desk.server.core is not None
    try:
        return dict(desk.server.core.pricing.healthy(BTC).excluded)
    except NoMarket as exc:
        return dict(exc.excluded)


@contextmanager
def _book_settings(desk: RunningDesk, venues: tuple[str, ...], **change: Any) -> Iterator[None]:
    """Apply admin book settings on ``venues`` and restore the neutral values afterwards."""
    neutral = {"offset_bps": "0", "crossed": False, "depth_factor": "1", "volatility_bps": "0.5"}
    for venue in venues:
        admin(desk.simulator.base_url(venue), book_path(BTC), change)
    try:
        yield
    finally:
        for venue in venues:
            admin(
                desk.simulator.base_url(venue),
                book_path(BTC),
                {key: neutral[key] for key in change},
            )


@contextmanager
def _frozen(desk: RunningDesk) -> Iterator[None]:
    """Freeze every venue and wait until the desk holds each venue's last book: the stream
    may still deliver the final updates a push interval after the freeze."""
    assert desk.server.core is not None
    snapshot = desk.server.core.snapshot
    for venue in VENUES:
        admin(desk.simulator.base_url(venue), "freeze", {"frozen": True})
    try:
        for venue in VENUES:
            symbols = admin(desk.simulator.base_url(venue), "state")["symbols"]
            for symbol, state in symbols.items():
                _wait_until(
                    lambda v=venue, s=symbol, want=state["lastUpdateId"]: (
                        (held := snapshot.get(v, s)) is not None and held.update_id == want
                    )
                )
        yield
    finally:
        for venue in VENUES:
            admin(desk.simulator.base_url(venue), "freeze", {"frozen": False})


def test_a_venue_five_percent_off_is_excluded_and_quotes_follow_the_honest_venues(
    start_desk: StartDesk,
) -> None:
    desk = start_desk()
    with _book_settings(desk, ("sim-a",), offset_bps="500"):
        _wait_until(lambda: _excluded(desk).get("sim-a", "").startswith("outlier"))
        with desk.logged_on() as c:
            quoted = mid_of(quote(c, BTC, "0.1"))
        honest = (_sim_mid(desk, "sim-b") + _sim_mid(desk, "sim-c")) / 2
        # A few bps of the honest venues; sim-a alone would pull a plain average 166 bps.
        assert abs(quoted - honest) / honest < Decimal("0.0005"), (quoted, honest)
    # Back on the market: re-admitted once well inside the band.
    _wait_until(lambda: "sim-a" not in _excluded(desk))


def test_a_crossed_venue_is_excluded(start_desk: StartDesk) -> None:
    desk = start_desk()
    with _book_settings(desk, ("sim-c",), crossed=True):
        _wait_until(lambda: _excluded(desk).get("sim-c") == "crossed")
        with desk.logged_on() as c:
            assert quote(c, BTC, "0.1").msg_type == "S"
    _wait_until(lambda: "sim-c" not in _excluded(desk))


def test_a_size_beyond_thin_books_is_rejected_not_priced_at_mid(start_desk: StartDesk) -> None:
    desk = start_desk()
    with desk.logged_on() as c:
        assert quote(c, BTC, "5").msg_type == "S"
        with _book_settings(desk, VENUES, depth_factor="0.01"):
            deadline = time.monotonic() + 8
            while True:
                _, answer = rfq(c, BTC, "5")
                if answer.msg_type == "AG" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert answer.msg_type == "AG", answer
            assert answer[658] == "3"
            assert answer[58].startswith("SIZE_ABOVE_MAX: 5 BTC exceeds the "), answer[58]
            assert "hedgeable within 100 bps" in answer[58]


def test_a_volatility_spike_widens_the_spread(start_desk: StartDesk) -> None:
    desk = start_desk(extra='[pricing]\nvol_bar_ms = 100\nvol_lambda = "0.7"\nvol_floor_bps = "0"')
    assert desk.server.core is not None
    volatility = desk.server.core.volatility
    _wait_until(lambda: volatility.measured_bps(BTC) is not None)
    with desk.logged_on() as c:
        calm = quote(c, BTC, "0.1")
        calm_spread = Decimal(calm[133]) - Decimal(calm[132])
        # The simulator walks 0.5 bps a 50 ms step, about 2 bps per square-root second; 20 bps
        # a step is about 90.
        assert volatility.sigma_bps(BTC) < 10
        with _book_settings(desk, VENUES, volatility_bps="20"):
            _wait_until(lambda: volatility.sigma_bps(BTC) > 40)
            wild = quote(c, BTC, "0.1")
        wild_spread = Decimal(wild[133]) - Decimal(wild[132])
    assert wild_spread > 2 * calm_spread, (calm_spread, wild_spread)


def test_a_better_tier_gets_a_tighter_spread(start_desk: StartDesk) -> None:
    desk = start_desk(
        extra='[tiers.gold]\nspread_multiplier = "0.2"\n[tiers.silver]\nspread_multiplier = "3"',
        client2='tier = "silver"',
        btc="",
    )
    with _frozen(desk):
        with desk.logged_on("CLIENT1") as c1:
            standard = quote(c1, BTC, "0.1")
        with desk.logged_on("CLIENT2") as c2:
            silver = quote(c2, BTC, "0.1")
    standard_spread = Decimal(standard[133]) - Decimal(standard[132])
    silver_spread = Decimal(silver[133]) - Decimal(silver[132])
    # Same frozen books: the silver tier pays three times the 5 bps margin on each side.
    margin = (silver_spread - standard_spread) / 2
    assert Decimal(50) < margin < Decimal(70), (standard_spread, silver_spread)


def test_inventory_from_a_client_trade_skews_quotes_and_caps_the_side(
    start_desk: StartDesk,
) -> None:
    desk = start_desk(
        stale_after_ms=30_000,
        btc='skew_bps_per_unit = "4"\nskew_cap_bps = "20"\ninventory_limit = "1.5"',
    )
    with _frozen(desk), desk.logged_on() as c:
        before = quote(c, BTC, "0.1")
        _, fill = order(c, quote(c, BTC, "1", side="1"), "1")
        assert fill[150] == "F"
        after = quote(c, BTC, "0.1")
        # The client bought 1 BTC: the desk is short 1, so both sides rise by 4 bps.
        shift = mid_of(after) - mid_of(before)
        expected = mid_of(before) * 4 / 10_000
        assert abs(shift - expected) <= Decimal("0.02"), (shift, expected)
        # Selling another 1 BTC would take the desk to -2 BTC, beyond its 1.5 BTC limit.
        _, refused = rfq(c, BTC, "1", side="1")
        assert refused.msg_type == "AG"
        assert (refused[658], refused[58].split(":")[0]) == ("3", "INVENTORY_LIMIT")
        # A two-way request for that size gets the side that reduces the position only.
        one_sided = quote(c, BTC, "1")
        assert 132 in one_sided
        assert 133 not in one_sided


def test_cash_order_qty_converts_at_the_composite_ask_for_a_buyer(start_desk: StartDesk) -> None:
    desk = start_desk(stale_after_ms=30_000)
    assert desk.server.core is not None
    with _frozen(desk), desk.logged_on() as c:
        ask = desk.server.core.pricing.healthy(BTC).top().ask
        q = quote(c, BTC, None, side="1", cash="60000")
    assert Decimal(q[38]) == round_down(Decimal(60000) / ask, Decimal("0.00001"))
