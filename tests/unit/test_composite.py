"""desk.pricing.composite: which venues count (staleness, crossed/empty, outliers, minimum),
their weights, their prices for a size and the consolidated depth the desk hedges on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest

from desk.config.model import MarketDataConfig, PricingConfig, VenueConfig
from desk.marketdata.snapshot import VenueBook
from desk.pricing.composite import CompositeBuilder, HealthyBooks, NoMarket
from tests.unit.builders import book, levels

NOW = 1000.0
SYMBOL = "BTC/USDT"
ONE_EACH = {"a": Decimal(1), "b": Decimal(1), "c": Decimal(1)}


def builder(
    weights: Mapping[str, Decimal] = ONE_EACH,
    *,
    fees: Mapping[str, Decimal] | None = None,
    min_venues: int = 1,
    stale_after_ms: int = 2000,
) -> CompositeBuilder:
    """Venues with the given weights (and taker fees, 0 unless given); band 50, readmit 25."""
    venues = [
        VenueConfig(
            name=name,
            ccxt_id="binance",
            api_url=None,
            weight=weight,
            taker_fee_bps=(fees or {}).get(name, Decimal(0)),
        )
        for name, weight in weights.items()
    ]
    return CompositeBuilder(
        venues,
        MarketDataConfig(stale_after_ms=stale_after_ms, min_venues=min_venues),
        PricingConfig(outlier_band_bps=Decimal(50), outlier_readmit_bps=Decimal(25)),
    )


def healthy(
    books: Sequence[VenueBook],
    weights: Mapping[str, Decimal] = ONE_EACH,
    *,
    fees: Mapping[str, Decimal] | None = None,
    min_venues: int = 1,
) -> HealthyBooks:
    """The healthy books of a fresh builder (no outlier history) at NOW."""
    return builder(weights, fees=fees, min_venues=min_venues).healthy(SYMBOL, books, NOW)


def around(venue: str, mid: str, symbol: str = SYMBOL) -> VenueBook:
    """A one-level book 0.2 wide around ``mid``."""
    centre = Decimal(mid)
    return book(
        venue,
        symbol=symbol,
        bids=((str(centre - Decimal("0.1")), "1"),),
        asks=((str(centre + Decimal("0.1")), "1"),),
    )


# --- which venues count -------------------------------------------------------------------------


def test_healthy_when_venue_book_older_than_stale_after_then_excluded_as_stale() -> None:
    result = healthy([book("a"), book("b", changed_mono=NOW - 2.5)])

    assert result.venues_used == ("a",)
    assert result.excluded == {"b": "stale 2.5s"}


def test_healthy_when_book_age_exactly_stale_after_then_still_used() -> None:
    result = healthy([book("a", changed_mono=NOW - 2.0)])

    assert result.venues_used == ("a",)
    assert result.excluded == {}


@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ((("101", "1"),), (("100", "1"),)),  # crossed
        ((("100", "1"),), (("100", "1"),)),  # locked counts as crossed
    ],
)
def test_healthy_when_venue_book_crossed_or_locked_then_excluded_as_crossed(
    bids: tuple[tuple[str, str], ...], asks: tuple[tuple[str, str], ...]
) -> None:
    result = healthy([book("a"), book("b", bids=bids, asks=asks)])

    assert result.venues_used == ("a",)
    assert result.excluded == {"b": "crossed"}


@pytest.mark.parametrize(
    ("bids", "asks"),
    [((), (("101", "1"),)), ((("99", "1"),), ()), ((), ())],
)
def test_healthy_when_venue_side_empty_then_excluded_as_empty(
    bids: tuple[tuple[str, str], ...], asks: tuple[tuple[str, str], ...]
) -> None:
    # Empty wins over stale: an empty book has no price to be stale about.
    result = healthy([book("a"), book("b", bids=bids, asks=asks, changed_mono=NOW - 60)])

    assert result.venues_used == ("a",)
    assert result.excluded == {"b": "empty"}


def test_healthy_when_venue_has_no_configured_weight_then_ignored_entirely() -> None:
    rogue = book("rogue", bids=(("500", "9"),), asks=(("501", "9"),))

    result = healthy([book("a"), book("b"), rogue], weights={"a": Decimal(1), "b": Decimal(1)})

    # Not used, not reported, and not even part of the outlier median.
    assert result.venues_used == ("a", "b")
    assert result.excluded == {}
    assert result.top().fair == Decimal(100)
    assert all(price < 200 for price, _ in result.hedge_levels(buying=True))


def test_healthy_when_fewer_healthy_venues_than_min_then_no_market_with_reasons() -> None:
    books = [book("a"), book("b", changed_mono=NOW - 3), book("c", bids=())]

    with pytest.raises(NoMarket) as caught:
        healthy(books, min_venues=2)

    assert caught.value.excluded == {"b": "stale 3.0s", "c": "empty"}
    assert caught.value.reason == "1 healthy venue(s) for BTC/USDT, need 2 (b stale 3.0s, c empty)"


def test_healthy_when_no_books_then_no_market_says_no_data() -> None:
    with pytest.raises(NoMarket) as caught:
        healthy([])

    assert caught.value.reason == "0 healthy venue(s) for BTC/USDT, need 1 (no data)"
    assert caught.value.excluded == {}


def test_healthy_when_enough_venues_then_used_venues_sorted_whatever_the_input_order() -> None:
    result = healthy([book("c"), book("a"), book("b")], min_venues=3)

    assert result.venues_used == ("a", "b", "c")


# --- outliers and hysteresis --------------------------------------------------------------------


def test_healthy_when_venue_five_percent_off_median_then_excluded_as_outlier_with_reason() -> None:
    result = healthy([around("a", "100"), around("b", "100"), around("c", "105")])

    assert result.venues_used == ("a", "b")
    assert result.excluded == {"c": "outlier 500 bps from median 100 (limit 50)"}
    assert result.top().fair == Decimal(100)


def test_healthy_when_outlier_leaves_too_few_venues_then_no_market_names_the_outlier() -> None:
    with pytest.raises(NoMarket) as caught:
        healthy([around("a", "100"), around("b", "100"), around("c", "105")], min_venues=3)

    assert caught.value.excluded == {"c": "outlier 500 bps from median 100 (limit 50)"}


def test_healthy_when_two_venues_disagree_beyond_band_then_both_outliers_and_no_market() -> None:
    # The median of two is their middle: neither can be told apart as the wrong one.
    with pytest.raises(NoMarket) as caught:
        healthy([around("a", "100"), around("b", "102")])

    assert set(caught.value.excluded) == {"a", "b"}


def test_healthy_when_outlier_drifts_back_then_readmitted_only_within_readmit_band() -> None:
    composite = builder()

    def used_with_c_at(mid: str) -> tuple[tuple[str, ...], Mapping[str, str]]:
        books = [around("a", "100"), around("b", "100"), around("c", mid)]
        result = composite.healthy(SYMBOL, books, NOW)
        return result.venues_used, result.excluded

    # 60 bps: beyond the 50 bps band.
    assert used_with_c_at("100.6") == (
        ("a", "b"),
        {"c": "outlier 60 bps from median 100 (limit 50)"},
    )
    # 40 bps: inside the band but not yet within the 25 bps readmit band.
    assert used_with_c_at("100.4") == (
        ("a", "b"),
        {"c": "outlier 40 bps from median 100 (limit 25)"},
    )
    # 20 bps: back in, and from now on the full band applies again.
    assert used_with_c_at("100.2") == (("a", "b", "c"), {})
    assert used_with_c_at("100.4") == (("a", "b", "c"), {})


def test_healthy_when_venue_never_excluded_then_inside_band_is_used() -> None:
    result = healthy([around("a", "100"), around("b", "100"), around("c", "100.4")])

    assert result.venues_used == ("a", "b", "c")


def test_healthy_when_venue_outlier_on_one_symbol_then_other_symbol_unaffected() -> None:
    composite = builder()
    composite.healthy(SYMBOL, [around("a", "100"), around("b", "100"), around("c", "100.6")], NOW)

    eth = [around(v, mid, "ETH/USDT") for v, mid in (("a", "100"), ("b", "100"), ("c", "100.4"))]
    result = composite.healthy("ETH/USDT", eth, NOW)

    assert result.venues_used == ("a", "b", "c")


# --- weights, sizes and depth -------------------------------------------------------------------


def test_top_when_venues_weighted_then_weighted_best_bid_and_ask() -> None:
    books = [around("a", "100"), around("b", "100.2")]

    top = healthy(books, weights={"a": Decimal(1), "b": Decimal(3)}).top()

    assert top.bid == Decimal("100.05")  # (99.9 + 3 * 100.1) / 4
    assert top.ask == Decimal("100.25")  # (100.1 + 3 * 100.3) / 4
    assert top.fair == Decimal("100.15")


def test_at_size_when_venues_weighted_then_weighted_average_of_per_venue_vwaps() -> None:
    books = [
        book(
            "a",
            bids=(("99.9", "1"), ("99.7", "1"), ("99.5", "8")),
            asks=(("100.1", "1"), ("100.3", "1"), ("100.6", "8")),
        ),
        book("b", bids=(("99.8", "2"), ("99.6", "10")), asks=(("100.2", "2"), ("100.4", "10"))),
    ]

    sized = healthy(books, weights={"a": Decimal(1), "b": Decimal(3)}).at_size(Decimal(4))

    # a: asks (100.1 + 100.3 + 2 * 100.6) / 4 = 100.4, bids 398.6 / 4 = 99.65
    # b: asks (2 * 100.2 + 2 * 100.4) / 4 = 100.3, bids 398.8 / 4 = 99.7
    assert sized.ask == Decimal("100.325")  # (100.4 + 3 * 100.3) / 4
    assert sized.bid == Decimal("99.6875")  # (99.65 + 3 * 99.7) / 4
    assert sized.fair == Decimal("100.00625")


def test_at_size_when_venue_thinner_than_size_then_its_whole_book_counts() -> None:
    thin = book("a", bids=(("99.9", "1"), ("99.7", "1")), asks=(("100.1", "1"), ("100.3", "1")))
    deep = book("b", bids=(("99.7", "10"),), asks=(("100.3", "10"),))

    result = healthy([thin, deep], weights={"a": Decimal(1), "b": Decimal(1)})

    # a can fill only 2 of 4: its whole book (ask 100.2, bid 99.8) stands for it.
    assert result.at_size(Decimal(4)).ask == Decimal("100.25")
    assert result.at_size(Decimal(4)).bid == Decimal("99.75")


def test_at_size_when_size_within_every_best_level_then_equals_top() -> None:
    result = healthy([around("a", "100"), around("b", "100.2")])

    assert result.at_size(Decimal("0.5")) == result.top()


def test_hedge_levels_when_several_venues_then_consolidated_best_first() -> None:
    books = [
        book("b", bids=(("99", "1"), ("97", "2")), asks=(("101", "1"), ("104", "2"))),
        book("a", bids=(("98", "3"),), asks=(("102", "3"),)),
    ]

    result = healthy(books, weights={"a": Decimal(1), "b": Decimal(1)})

    assert result.hedge_levels(buying=False) == levels(("99", "1"), ("98", "3"), ("97", "2"))
    assert result.hedge_levels(buying=True) == levels(("101", "1"), ("102", "3"), ("104", "2"))


def test_hedge_levels_when_venues_charge_different_fees_then_ordered_by_price_after_fees() -> None:
    books = [around("a", "100"), around("b", "100.1")]

    result = healthy(
        books,
        weights={"a": Decimal(1), "b": Decimal(1)},
        fees={"a": Decimal(50), "b": Decimal(0)},
    )

    # a's ask 100.1 costs 100.6005 after its 50 bps fee: b's 100.2 comes first.
    assert result.hedge_levels(buying=True) == levels(("100.2", "1"), ("100.6005", "1"))
    # a's bid 99.9 yields 99.4005 after fees: b's 100.0 comes first.
    assert result.hedge_levels(buying=False) == levels(("100.0", "1"), ("99.4005", "1"))


# --- reuse between book updates -----------------------------------------------------------------


def test_healthy_when_books_unchanged_then_same_verdict_and_derived_levels_reused() -> None:
    composite = builder()
    books = [around("a", "100"), around("b", "100"), around("c", "100.6")]

    first = composite.healthy(SYMBOL, books, NOW)
    levels_first = first.hedge_levels(buying=True)
    again = composite.healthy(SYMBOL, list(books), NOW + 0.5)

    assert again is first
    assert again.hedge_levels(buying=True) is levels_first
    assert again.top() is first.top()
    assert again.excluded == {"c": "outlier 60 bps from median 100 (limit 50)"}


def test_healthy_when_one_book_replaced_then_judged_afresh() -> None:
    composite = builder()
    first = composite.healthy(SYMBOL, [around("a", "100"), around("b", "100")], NOW)

    moved = composite.healthy(SYMBOL, [around("a", "100"), around("b", "101")], NOW)

    assert moved is not first
    assert moved.top().ask == Decimal("100.6")


def test_healthy_when_unchanged_book_ages_past_stale_then_excluded_despite_reuse() -> None:
    composite = builder()
    books = [book("a"), book("b", changed_mono=NOW - 1.5)]
    assert composite.healthy(SYMBOL, books, NOW).venues_used == ("a", "b")

    later = composite.healthy(SYMBOL, books, NOW + 1.0)

    assert later.venues_used == ("a",)
    assert later.excluded == {"b": "stale 2.5s"}


def test_healthy_when_no_market_twice_then_both_raise_with_the_reasons() -> None:
    composite = builder(min_venues=2)
    books = [around("a", "100")]

    for _ in range(2):
        with pytest.raises(NoMarket) as raised:
            composite.healthy(SYMBOL, books, NOW)
        assert raised.value.reason == "1 healthy venue(s) for BTC/USDT, need 2 (no data)"


def test_healthy_when_outlier_drifts_back_with_reuse_then_hysteresis_unchanged() -> None:
    composite = builder()
    a, b = around("a", "100"), around("b", "100")
    for mid, used in (("100.6", ("a", "b")), ("100.4", ("a", "b")), ("100.2", ("a", "b", "c"))):
        c = around("c", mid)
        # Asked twice on the same books: the second answer is the first one.
        assert composite.healthy(SYMBOL, [a, b, c], NOW).venues_used == used
        assert composite.healthy(SYMBOL, [a, b, c], NOW).venues_used == used
