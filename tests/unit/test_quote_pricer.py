"""desk.pricing.quote_pricer: spread, size premium, tick rounding in the desk's favour."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.config.model import InstrumentConfig
from desk.marketdata.snapshot import Level, VenueBook
from desk.pricing.composite import Composite, build_composite, depth
from desk.pricing.quote_pricer import InsufficientDepth, TwoWayPrice, price_two_way
from tests.unit.builders import book

NOW = 1000.0


def instrument(
    tick: str = "0.01", spread_bps: str = "10", lot: str = "0.00001"
) -> InstrumentConfig:
    return InstrumentConfig(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        tick=Decimal(tick),
        lot=Decimal(lot),
        min_qty=Decimal(lot),
        max_qty=Decimal(1_000_000),
        max_notional=Decimal(10) ** 15,
        quote_ttl_ms=5000,
        spread_bps=Decimal(spread_bps),
    )


def composite_of(*books: VenueBook) -> Composite:
    return build_composite(
        "BTC/USDT",
        books,
        now_mono=NOW,
        stale_after_s=2.0,
        min_venues=1,
        weights={b.venue: Decimal(1) for b in books},
    )


SIMPLE = composite_of(book("a", bids=(("99", "1"), ("98", "2")), asks=(("101", "1"), ("102", "2"))))


def test_price_when_size_within_best_level_then_mid_plus_minus_spread() -> None:
    price = price_two_way(instrument(spread_bps="10"), SIMPLE, Decimal(1))

    assert (price.bid, price.offer, price.mid) == (Decimal("99.9"), Decimal("100.1"), Decimal(100))
    assert price.bid_size_premium == 0
    assert price.offer_size_premium == 0


def test_price_when_size_walks_the_book_then_size_premium_added_each_side() -> None:
    price = price_two_way(instrument(spread_bps="10"), SIMPLE, Decimal(2))

    # Hedging 2 costs 101.5 on the asks (0.5 over the best) and 98.5 on the bids.
    assert price.offer_size_premium == Decimal("0.5")
    assert price.bid_size_premium == Decimal("0.5")
    assert (price.bid, price.offer) == (Decimal("99.4"), Decimal("100.6"))


def test_price_when_mid_between_ticks_then_bid_rounded_down_offer_rounded_up() -> None:
    market = composite_of(book("a", bids=(("100.00", "5"),), asks=(("100.01", "5"),)))

    price = price_two_way(instrument(spread_bps="0"), market, Decimal(1))

    assert market.mid == Decimal("100.005")
    assert (price.bid, price.offer) == (Decimal("100.00"), Decimal("100.01"))


def test_price_when_zero_spread_and_mid_on_tick_then_bid_one_tick_below_offer() -> None:
    price = price_two_way(instrument(spread_bps="0"), SIMPLE, Decimal(1))

    assert price.offer == Decimal(100)
    assert price.bid == Decimal("99.99")


def test_price_when_size_exceeds_ask_depth_then_insufficient_depth() -> None:
    with pytest.raises(InsufficientDepth) as caught:
        price_two_way(instrument(), SIMPLE, Decimal("3.5"))

    assert caught.value.qty == Decimal("3.5")
    assert caught.value.available == Decimal(3)


def test_price_when_size_exceeds_bid_depth_only_then_insufficient_depth_on_bids() -> None:
    market = composite_of(book("a", bids=(("99", "1"),), asks=(("101", "10"),)))

    with pytest.raises(InsufficientDepth) as caught:
        price_two_way(instrument(), market, Decimal(2))

    assert caught.value.available == Decimal(1)


# --- properties -----------------------------------------------------------------------------

TICKS = ("0.01", "0.5", "1", "0.0001")
# No example database: a unit run leaves nothing behind in the working tree.
PROPERTY = settings(max_examples=100, deadline=None, database=None)


@st.composite
def side_levels(draw: st.DrawFn, best: int, direction: int, tick: Decimal) -> tuple[Level, ...]:
    """1-5 levels from ``best`` (in ticks) moving away by ``direction``, sizes 0.001-50."""
    count = draw(st.integers(1, 5))
    price = best
    result: list[Level] = []
    for _ in range(count):
        size = Decimal(draw(st.integers(1, 50_000))) / 1000
        result.append((price * tick, size))
        price += direction * draw(st.integers(1, 100))
    return tuple(result)


@st.composite
def markets(draw: st.DrawFn) -> tuple[InstrumentConfig, Composite]:
    tick = Decimal(draw(st.sampled_from(TICKS)))
    spread_bps = Decimal(draw(st.integers(0, 200))) / 2
    books = []
    for venue in ("a", "b", "c")[: draw(st.integers(1, 3))]:
        best_bid = draw(st.integers(10_000, 10_000_000))
        best_ask = best_bid + draw(st.integers(1, 50))
        bids = draw(side_levels(best_bid, -1, tick))
        asks = draw(side_levels(best_ask, 1, tick))
        books.append(VenueBook(venue, "BTC/USDT", bids, asks, None, SIMPLE_TIME, changed_mono=NOW))
    return instrument(tick=str(tick), spread_bps=str(spread_bps), lot="0.001"), composite_of(*books)


SIMPLE_TIME = book().received_at


def exact_vwap(levels: Sequence[Level], qty: Fraction) -> Fraction:
    """Reference vwap in exact rationals."""
    remaining, cost = qty, Fraction(0)
    for price, size in levels:
        take = min(Fraction(size), remaining)
        cost += take * Fraction(price)
        remaining -= take
    assert remaining == 0
    return cost / qty


def max_qty(market: Composite) -> Decimal:
    return min(depth(market.bids), depth(market.asks))


@st.composite
def priced(draw: st.DrawFn) -> tuple[InstrumentConfig, Composite, Decimal, TwoWayPrice]:
    inst, market = draw(markets())
    top = int(max_qty(market) * 1000)
    qty = Decimal(draw(st.integers(1, top))) / 1000
    return inst, market, qty, price_two_way(inst, market, qty)


@PROPERTY
@given(priced())
def test_price_when_any_market_then_bid_below_offer_and_both_on_tick(
    case: tuple[InstrumentConfig, Composite, Decimal, TwoWayPrice],
) -> None:
    inst, _, _, price = case

    assert price.bid < price.offer
    assert price.bid % inst.tick == 0
    assert price.offer % inst.tick == 0


@PROPERTY
@given(priced())
def test_price_when_any_market_then_rounding_always_in_desks_favour(
    case: tuple[InstrumentConfig, Composite, Decimal, TwoWayPrice],
) -> None:
    inst, market, qty, price = case
    mid = Fraction(market.mid)
    spread = mid * Fraction(inst.spread_bps) / 10_000
    q = Fraction(qty)
    exact_offer = mid + spread + exact_vwap(market.asks, q) - Fraction(market.asks[0][0])
    exact_bid = mid - spread - (Fraction(market.bids[0][0]) - exact_vwap(market.bids, q))

    assert Fraction(price.offer) >= exact_offer
    assert Fraction(price.bid) <= exact_bid
    # ... and by less than one tick: rounding, not a second spread.
    assert Fraction(price.offer) - exact_offer < Fraction(inst.tick)


@PROPERTY
@given(markets(), st.data())
def test_price_when_size_grows_then_offer_never_falls_and_bid_never_rises(
    market_case: tuple[InstrumentConfig, Composite], data: st.DataObject
) -> None:
    inst, market = market_case
    top = int(max_qty(market) * 1000)
    small = data.draw(st.integers(1, top))
    large = data.draw(st.integers(small, top))

    at_small = price_two_way(inst, market, Decimal(small) / 1000)
    at_large = price_two_way(inst, market, Decimal(large) / 1000)

    assert at_large.offer >= at_small.offer
    assert at_large.bid <= at_small.bid
