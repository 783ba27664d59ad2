"""desk.pricing.volatility: EWMA of composite log returns, the floor, and the bar sampler."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal

import pytest
from structlog.testing import capture_logs

from desk.clock import FakeClock
from desk.config.model import PricingConfig
from desk.pricing.volatility import EwmaVolatility, VolatilityBook, VolatilitySampler

BPS = Decimal(10_000)
LAMBDA = Decimal("0.94")
# Close enough for a 28-digit Decimal computed along a different route.
TOLERANCE = Decimal("1e-18")


def ln_ratio(new: str, old: str) -> Decimal:
    return (Decimal(new) / Decimal(old)).ln()


def test_sigma_when_only_one_mid_seen_then_none() -> None:
    ewma = EwmaVolatility(bar_ms=1000, lam=LAMBDA)

    ewma.observe(Decimal(100))

    assert ewma.sigma_bps is None


def test_sigma_when_first_return_then_its_absolute_log_return_in_bps() -> None:
    ewma = EwmaVolatility(bar_ms=1000, lam=LAMBDA)

    ewma.observe(Decimal(100))
    ewma.observe(Decimal(101))

    assert ewma.sigma_bps is not None
    assert abs(ewma.sigma_bps - ln_ratio("101", "100") * BPS) < TOLERANCE
    assert Decimal("99.50") < ewma.sigma_bps < Decimal("99.51")  # ln(1.01) = 0.0099503...


def test_sigma_when_several_returns_then_matches_hand_computed_ewma() -> None:
    ewma = EwmaVolatility(bar_ms=1000, lam=LAMBDA)
    mids = ["100", "101", "100.5", "100.5", "99"]
    for mid in mids:
        ewma.observe(Decimal(mid))

    variance = ln_ratio(mids[1], mids[0]) ** 2
    for old, new in itertools.pairwise(mids[1:]):
        variance = LAMBDA * variance + (1 - LAMBDA) * ln_ratio(new, old) ** 2
    assert ewma.sigma_bps is not None
    assert abs(ewma.sigma_bps - variance.sqrt() * BPS) < TOLERANCE


def test_sigma_when_bars_shorter_than_a_second_then_scaled_per_square_root_second() -> None:
    ewma = EwmaVolatility(bar_ms=250, lam=LAMBDA)

    ewma.observe(Decimal(100))
    ewma.observe(Decimal(101))

    # Four bars a second: the per-second variance is four times the bar's.
    assert ewma.sigma_bps is not None
    assert abs(ewma.sigma_bps - 2 * ln_ratio("101", "100") * BPS) < TOLERANCE


def test_sigma_when_bars_skipped_then_return_spread_over_the_bars_it_covers() -> None:
    one_bar = EwmaVolatility(bar_ms=1000, lam=LAMBDA)
    four_bars = EwmaVolatility(bar_ms=1000, lam=LAMBDA)
    for ewma, bars in ((one_bar, 1), (four_bars, 4)):
        ewma.observe(Decimal(100))
        ewma.observe(Decimal(102), bars=bars)

    # The same move over four bars is a quarter of the variance per bar: half the sigma.
    assert one_bar.sigma_bps is not None
    assert four_bars.sigma_bps is not None
    assert abs(four_bars.sigma_bps - one_bar.sigma_bps / 2) < TOLERANCE


def test_sigma_when_mid_never_moves_then_zero() -> None:
    ewma = EwmaVolatility(bar_ms=1000, lam=LAMBDA)
    for _ in range(3):
        ewma.observe(Decimal("100.5"))

    assert ewma.sigma_bps == 0


@pytest.mark.parametrize(("mid", "bars"), [(Decimal(0), 1), (Decimal(-1), 1), (Decimal(100), 0)])
def test_observe_when_mid_not_positive_or_no_bar_then_value_error(mid: Decimal, bars: int) -> None:
    ewma = EwmaVolatility(bar_ms=1000, lam=LAMBDA)
    ewma.observe(Decimal(100))

    with pytest.raises(ValueError, match="positive mid"):
        ewma.observe(mid, bars)

    # The rejected value is not remembered as the last mid.
    ewma.observe(Decimal(101))
    assert ewma.sigma_bps is not None
    assert abs(ewma.sigma_bps - ln_ratio("101", "100") * BPS) < TOLERANCE


# --- the book and its floor ---------------------------------------------------------------------

FLOORED = PricingConfig(vol_floor_bps=Decimal(5), vol_bar_ms=1000, vol_lambda=LAMBDA)


def test_sigma_bps_when_nothing_measured_yet_then_floor() -> None:
    book = VolatilityBook(["BTC/USDT"], FLOORED)

    assert book.sigma_bps("BTC/USDT") == Decimal(5)
    assert book.measured_bps("BTC/USDT") is None


def test_sigma_bps_when_measured_below_floor_then_floor() -> None:
    book = VolatilityBook(["BTC/USDT"], FLOORED)
    book.observe("BTC/USDT", Decimal(100))
    book.observe("BTC/USDT", Decimal("100.01"))  # about 1 bps

    measured = book.measured_bps("BTC/USDT")
    assert measured is not None
    assert measured < Decimal(5)
    assert book.sigma_bps("BTC/USDT") == Decimal(5)


def test_sigma_bps_when_measured_above_floor_then_measured() -> None:
    book = VolatilityBook(["BTC/USDT", "ETH/USDT"], FLOORED)
    book.observe("BTC/USDT", Decimal(100))
    book.observe("BTC/USDT", Decimal(101))

    assert book.sigma_bps("BTC/USDT") == book.measured_bps("BTC/USDT")
    assert book.sigma_bps("BTC/USDT") > Decimal(99)
    # Symbols do not share an estimate.
    assert book.sigma_bps("ETH/USDT") == Decimal(5)


# --- the sampler ----------------------------------------------------------------------------------


class FakeMids:
    """Composite mids by symbol; a value may be None (no market) or an exception to raise."""

    def __init__(self) -> None:
        self.now: dict[str, Decimal | Exception | None] = {}

    def set(self, mids: Mapping[str, Decimal | Exception | None]) -> None:
        self.now = dict(mids)

    def __call__(self, symbol: str) -> Decimal | None:
        value = self.now[symbol]
        if isinstance(value, Exception):
            raise value
        return value


SYMBOLS = ("BTC/USDT", "ETH/USDT")


def sampler(clock: FakeClock) -> tuple[VolatilitySampler, VolatilityBook, FakeMids]:
    book = VolatilityBook(SYMBOLS, FLOORED)
    mids = FakeMids()
    return VolatilitySampler(book, SYMBOLS, mids, FLOORED, clock), book, mids


def reference(*observations: tuple[str, int]) -> Decimal | None:
    """What an EWMA fed ``(mid, bars)`` directly estimates."""
    ewma = EwmaVolatility(FLOORED.vol_bar_ms, FLOORED.vol_lambda)
    for mid, bars in observations:
        ewma.observe(Decimal(mid), bars)
    return ewma.sigma_bps


def test_sample_when_every_symbol_has_a_mid_then_each_observed_once_per_bar(
    clock: FakeClock,
) -> None:
    vol, book, mids = sampler(clock)

    for btc, eth in (("100", "10"), ("101", "10.2"), ("100", "10.1")):
        mids.set({"BTC/USDT": Decimal(btc), "ETH/USDT": Decimal(eth)})
        vol.sample()
        clock.advance(1.0)

    assert book.measured_bps("BTC/USDT") == reference(("100", 1), ("101", 1), ("100", 1))
    assert book.measured_bps("ETH/USDT") == reference(("10", 1), ("10.2", 1), ("10.1", 1))


def test_sample_when_no_market_for_a_bar_then_next_return_spread_over_both_bars(
    clock: FakeClock,
) -> None:
    vol, book, mids = sampler(clock)

    for btc in ("100", "101", None, "103"):
        mids.set({"BTC/USDT": None if btc is None else Decimal(btc), "ETH/USDT": Decimal(10)})
        vol.sample()

    assert book.measured_bps("BTC/USDT") == reference(("100", 1), ("101", 1), ("103", 2))
    assert book.measured_bps("BTC/USDT") != reference(("100", 1), ("101", 1), ("103", 1))


def test_sample_when_mid_source_raises_then_logged_other_symbols_sampled_and_bar_counted(
    clock: FakeClock,
) -> None:
    vol, book, mids = sampler(clock)
    mids.set({"BTC/USDT": Decimal(100), "ETH/USDT": Decimal(10)})
    vol.sample()

    mids.set({"BTC/USDT": RuntimeError("snapshot gone"), "ETH/USDT": Decimal(11)})
    with capture_logs() as logs:
        vol.sample()

    assert [(e["event"], e["symbol"], e["log_level"]) for e in logs] == [
        ("vol.sample_failed", "BTC/USDT", "error")
    ]
    assert book.measured_bps("ETH/USDT") == reference(("10", 1), ("11", 1))

    mids.set({"BTC/USDT": Decimal(102), "ETH/USDT": Decimal(11)})
    vol.sample()
    assert book.measured_bps("BTC/USDT") == reference(("100", 1), ("102", 2))


def test_sample_when_mid_source_returns_a_non_positive_mid_then_sampler_survives(
    clock: FakeClock,
) -> None:
    vol, book, mids = sampler(clock)
    mids.set({"BTC/USDT": Decimal(100), "ETH/USDT": Decimal(10)})
    vol.sample()

    mids.set({"BTC/USDT": Decimal(0), "ETH/USDT": Decimal(11)})
    with capture_logs() as logs:
        vol.sample()

    assert [(e["event"], e["symbol"]) for e in logs] == [("vol.sample_failed", "BTC/USDT")]
    assert book.measured_bps("ETH/USDT") == reference(("10", 1), ("11", 1))
    mids.set({"BTC/USDT": Decimal(101), "ETH/USDT": Decimal(11)})
    vol.sample()
    assert book.measured_bps("BTC/USDT") == reference(("100", 1), ("101", 2))
