"""desk.pricing.depth: VWAP to a size, taker fees, consolidation and slippage-limited hedging."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.marketdata.snapshot import Level
from desk.pricing.depth import (
    ExcessSlippage,
    consolidate,
    depth,
    hedge_cost,
    vwap,
    vwap_or_whole_book,
    with_taker_fee,
)
from tests.unit.builders import levels

# No example database: a unit run leaves nothing behind in the working tree.
PROPERTY = settings(max_examples=100, deadline=None, database=None)

# Asks 100 / 100.5 / 101 and bids 100 / 99.5 / 99: with a 50 bps limit the first two levels
# of each side are usable (the second sits exactly on the limit), 3 units in all.
ASKS = levels(("100", "1"), ("100.5", "2"), ("101", "5"))
BIDS = levels(("100", "1"), ("99.5", "2"), ("99", "5"))
LIMIT_BPS = Decimal(50)


# --- vwap and depth --------------------------------------------------------------------------


def test_vwap_when_qty_within_first_level_then_best_price() -> None:
    assert vwap(levels(("100", "2"), ("101", "5")), Decimal("1.5")) == Decimal(100)


def test_vwap_when_qty_spans_levels_then_size_weighted_average() -> None:
    book_levels = levels(("100", "1"), ("101", "2"), ("105", "10"))

    assert vwap(book_levels, Decimal(2)) == Decimal("100.5")
    assert vwap(book_levels, Decimal(4)) == Decimal("101.75")  # (100 + 202 + 105) / 4


def test_vwap_when_qty_equals_total_depth_then_priced() -> None:
    assert vwap(levels(("100", "1"), ("102", "1")), Decimal(2)) == Decimal(101)


def test_vwap_when_qty_exceeds_depth_then_none() -> None:
    assert vwap(levels(("100", "1"), ("102", "1")), Decimal("2.00001")) is None
    assert vwap((), Decimal(1)) is None


def test_depth_when_levels_given_then_sum_of_sizes() -> None:
    assert depth(levels(("100", "1.5"), ("99", "2.25"))) == Decimal("3.75")
    assert depth(()) == Decimal(0)


def test_vwap_or_whole_book_when_side_deep_enough_then_vwap_to_size() -> None:
    assert vwap_or_whole_book(ASKS, Decimal(2)) == Decimal("100.25")


def test_vwap_or_whole_book_when_side_thinner_than_size_then_whole_side_average() -> None:
    thin = levels(("100", "1"), ("103", "1"))

    assert vwap_or_whole_book(thin, Decimal(50)) == Decimal("101.5")
    assert vwap_or_whole_book(thin, Decimal(50)) == vwap_or_whole_book(thin, Decimal(2))


# --- fees and consolidation ------------------------------------------------------------------


def test_with_taker_fee_when_buying_then_prices_raised_by_fee_sizes_kept() -> None:
    assert tuple(with_taker_fee(ASKS[:2], Decimal(10), buying=True)) == levels(
        ("100.1", "1"), ("100.6005", "2")
    )


def test_with_taker_fee_when_selling_then_prices_lowered_by_fee_sizes_kept() -> None:
    assert tuple(with_taker_fee(BIDS[:2], Decimal(10), buying=False)) == levels(
        ("99.9", "1"), ("99.4005", "2")
    )


def test_hedge_cost_when_fees_applied_then_buying_costs_more_and_selling_yields_less() -> None:
    fee = Decimal(20)
    qty = Decimal(2)
    buy_levels = with_taker_fee(ASKS, fee, buying=True)
    sell_levels = with_taker_fee(BIDS, fee, buying=False)

    buy = hedge_cost(buy_levels, qty, buying=True, max_slippage_bps=LIMIT_BPS, penalty_bps=None)
    sell = hedge_cost(sell_levels, qty, buying=False, max_slippage_bps=LIMIT_BPS, penalty_bps=None)

    assert buy.price == Decimal("100.25") * Decimal("1.002")
    assert sell.price == Decimal("99.75") * Decimal("0.998")


def test_consolidate_when_buying_then_all_venues_asks_lowest_first() -> None:
    venue_a = levels(("101", "1"), ("103", "1"))
    venue_b = levels(("102", "2"), ("104", "2"))

    assert consolidate([venue_a, venue_b], buying=True) == levels(
        ("101", "1"), ("102", "2"), ("103", "1"), ("104", "2")
    )


def test_consolidate_when_selling_then_all_venues_bids_highest_first() -> None:
    venue_a = levels(("99", "1"), ("97", "1"))
    venue_b = levels(("98", "2"), ("96", "2"))

    assert consolidate([venue_a, venue_b], buying=False) == levels(
        ("99", "1"), ("98", "2"), ("97", "1"), ("96", "2")
    )


def test_consolidate_when_venues_share_a_price_then_both_levels_kept() -> None:
    merged = consolidate([levels(("100", "1")), levels(("100", "2"))], buying=True)

    assert depth(merged) == Decimal(3)
    assert [price for price, _ in merged] == [Decimal(100), Decimal(100)]


# --- hedge cost within and beyond the slippage limit -------------------------------------------


def test_hedge_cost_when_qty_within_limit_then_vwap_of_usable_levels() -> None:
    cost = hedge_cost(ASKS, Decimal(2), buying=True, max_slippage_bps=LIMIT_BPS, penalty_bps=None)

    assert cost.price == Decimal("100.25")
    assert cost.available_within_limit == Decimal(3)  # the level exactly at the limit counts
    assert cost.penalised_qty == 0


def test_hedge_cost_when_selling_within_limit_then_vwap_of_usable_bids() -> None:
    cost = hedge_cost(BIDS, Decimal(3), buying=False, max_slippage_bps=LIMIT_BPS, penalty_bps=None)

    assert cost.price == Decimal(299) / 3
    assert cost.available_within_limit == Decimal(3)


@pytest.mark.parametrize(("side", "buying"), [(ASKS, True), (BIDS, False)])
def test_hedge_cost_when_qty_beyond_limit_and_no_penalty_then_excess_slippage(
    side: tuple[Level, ...], buying: bool
) -> None:
    # 8 units are on the book, but only 3 within 50 bps of the best.
    with pytest.raises(ExcessSlippage) as caught:
        hedge_cost(side, Decimal(4), buying=buying, max_slippage_bps=LIMIT_BPS, penalty_bps=None)

    assert (caught.value.qty, caught.value.available, caught.value.limit_bps) == (
        Decimal(4),
        Decimal(3),
        LIMIT_BPS,
    )


def test_hedge_cost_when_no_levels_then_excess_slippage_with_nothing_available() -> None:
    with pytest.raises(ExcessSlippage) as caught:
        hedge_cost((), Decimal(1), buying=True, max_slippage_bps=LIMIT_BPS, penalty_bps=Decimal(5))

    assert caught.value.available == 0


def test_hedge_cost_when_buying_beyond_limit_with_penalty_then_remainder_above_limit() -> None:
    cost = hedge_cost(
        ASKS, Decimal(5), buying=True, max_slippage_bps=LIMIT_BPS, penalty_bps=Decimal(100)
    )

    # 3 usable units cost 301; 2 more at 100 * (1 + 150 bps) = 101.5.
    assert cost.price == Decimal("100.8")
    assert cost.penalised_qty == Decimal(2)
    assert cost.available_within_limit == Decimal(3)


def test_hedge_cost_when_selling_beyond_limit_with_penalty_then_remainder_below_limit() -> None:
    cost = hedge_cost(
        BIDS, Decimal(5), buying=False, max_slippage_bps=LIMIT_BPS, penalty_bps=Decimal(100)
    )

    # 3 usable units yield 299; 2 more at 100 * (1 - 150 bps) = 98.5.
    assert cost.price == Decimal("99.2")
    assert cost.penalised_qty == Decimal(2)


@pytest.mark.parametrize(("side", "buying"), [(ASKS, True), (BIDS, False)])
def test_hedge_cost_when_penalised_size_grows_then_price_worsens_and_penalty_beyond_every_usable(
    side: tuple[Level, ...], buying: bool
) -> None:
    sign = 1 if buying else -1
    usable = side[:2]
    usable_value = sum((p * s for p, s in usable), Decimal(0))
    previous = None
    for qty in (Decimal(n) / 2 for n in range(1, 41)):
        cost = hedge_cost(
            side, qty, buying=buying, max_slippage_bps=LIMIT_BPS, penalty_bps=Decimal(1)
        )
        if previous is not None:
            assert sign * (cost.price - previous) >= 0
        previous = cost.price
        if cost.penalised_qty:
            # What the penalised remainder was charged at, per unit.
            marginal = (cost.price * qty - usable_value) / cost.penalised_qty
            assert all(sign * (marginal - price) > 0 for price, _ in usable)
            assert sign * (cost.price - usable_value / depth(usable)) > 0
    # The best price is never what a penalised size gets: it is not priced at the touch.
    assert previous is not None
    assert sign * (previous - side[0][0]) > 0


# --- properties -------------------------------------------------------------------------------


@st.composite
def sorted_side(draw: st.DrawFn, buying: bool) -> tuple[Level, ...]:
    """1-5 levels from 1000.00 moving away from the touch, sizes 0.01-10."""
    price = Decimal(100_000)
    result: list[Level] = []
    for _ in range(draw(st.integers(1, 5))):
        result.append((price / 100, Decimal(draw(st.integers(1, 1000))) / 100))
        price += (1 if buying else -1) * draw(st.integers(1, 2000))
    return tuple(result)


@PROPERTY
@given(
    st.booleans().flatmap(lambda buying: st.tuples(st.just(buying), sorted_side(buying))),
    st.integers(1, 500),
    st.integers(1, 500),
    st.lists(st.integers(1, 5000), min_size=2, max_size=2),
)
def test_hedge_cost_when_size_grows_with_penalty_then_price_never_improves(
    side_case: tuple[bool, tuple[Level, ...]],
    slippage_bps: int,
    penalty_bps: int,
    sizes: list[int],
) -> None:
    buying, side = side_case
    sign = 1 if buying else -1
    small, large = (Decimal(n) / 100 for n in sorted(sizes))

    def price(qty: Decimal) -> Decimal:
        return hedge_cost(
            side,
            qty,
            buying=buying,
            max_slippage_bps=Decimal(slippage_bps),
            penalty_bps=Decimal(penalty_bps),
        ).price

    assert sign * (price(large) - price(small)) >= 0
    assert sign * (price(small) - side[0][0]) >= 0
