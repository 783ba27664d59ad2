"""desk.pricing.composite: which venues count, the weighted mid, consolidated depth and vwap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest

from desk.marketdata.snapshot import VenueBook
from desk.pricing.composite import Composite, NoMarket, build_composite, depth, vwap
from tests.unit.builders import book, levels

NOW = 1000.0
ONE_EACH = {"a": Decimal(1), "b": Decimal(1), "c": Decimal(1)}


def composite(
    books: Sequence[VenueBook],
    *,
    min_venues: int = 1,
    weights: Mapping[str, Decimal] = ONE_EACH,
    stale_after_s: float = 2.0,
) -> Composite:
    return build_composite(
        "BTC/USDT",
        books,
        now_mono=NOW,
        stale_after_s=stale_after_s,
        min_venues=min_venues,
        weights=weights,
    )


def test_build_when_venue_book_older_than_stale_after_then_excluded_as_stale() -> None:
    result = composite([book("a"), book("b", changed_mono=NOW - 2.5)])

    assert result.venues_used == ("a",)
    assert result.venues_excluded == {"b": "stale 2.5s"}


def test_build_when_book_age_exactly_stale_after_then_still_used() -> None:
    result = composite([book("a", changed_mono=NOW - 2.0)])

    assert result.venues_used == ("a",)


@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ((("101", "1"),), (("100", "1"),)),  # crossed
        ((("100", "1"),), (("100", "1"),)),  # locked counts as crossed
    ],
)
def test_build_when_venue_book_crossed_then_excluded_as_crossed(
    bids: tuple[tuple[str, str], ...], asks: tuple[tuple[str, str], ...]
) -> None:
    result = composite([book("a"), book("b", bids=bids, asks=asks)])

    assert result.venues_used == ("a",)
    assert result.venues_excluded == {"b": "crossed"}


@pytest.mark.parametrize(
    ("bids", "asks"),
    [((), (("101", "1"),)), ((("99", "1"),), ()), ((), ())],
)
def test_build_when_venue_side_empty_then_excluded_as_empty(
    bids: tuple[tuple[str, str], ...], asks: tuple[tuple[str, str], ...]
) -> None:
    # Empty wins over stale: an empty book has no price to be stale about.
    result = composite([book("a"), book("b", bids=bids, asks=asks, changed_mono=NOW - 60)])

    assert result.venues_excluded == {"b": "empty"}


def test_build_when_venue_has_no_configured_weight_then_ignored_entirely() -> None:
    result = composite(
        [book("a"), book("rogue", bids=(("500", "9"),), asks=(("501", "9"),))],
        weights={"a": Decimal(1)},
    )

    assert result.venues_used == ("a",)
    assert result.venues_excluded == {}
    assert result.mid == Decimal(100)
    assert all(price < 200 for price, _ in result.bids + result.asks)


def test_build_when_fewer_healthy_venues_than_min_then_no_market_with_reasons() -> None:
    books = [book("a"), book("b", changed_mono=NOW - 3), book("c", bids=())]

    with pytest.raises(NoMarket) as caught:
        composite(books, min_venues=2)

    assert caught.value.excluded == {"b": "stale 3.0s", "c": "empty"}
    assert caught.value.reason == (
        "1 healthy venue(s) for BTC/USDT, need 2 (b stale 3.0s, c empty)"
    )


def test_build_when_no_books_then_no_market_says_no_data() -> None:
    with pytest.raises(NoMarket) as caught:
        composite([])

    assert caught.value.reason == "0 healthy venue(s) for BTC/USDT, need 1 (no data)"
    assert caught.value.excluded == {}


def test_build_when_venues_weighted_then_mid_is_weighted_average_of_venue_mids() -> None:
    books = [
        book("a", bids=(("99", "1"),), asks=(("101", "1"),)),  # mid 100
        book("b", bids=(("109", "1"),), asks=(("111", "1"),)),  # mid 110
    ]

    result = composite(books, weights={"a": Decimal(1), "b": Decimal(3)})

    assert result.mid == Decimal("107.5")
    assert result.venues_used == ("a", "b")


def test_build_when_several_venues_then_depth_consolidated_best_first() -> None:
    books = [
        book("b", bids=(("99", "1"), ("97", "2")), asks=(("101", "1"), ("104", "2"))),
        book("a", bids=(("98", "3"),), asks=(("102", "3"),)),
    ]

    result = composite(books)

    assert result.bids == levels(("99", "1"), ("98", "3"), ("97", "2"))
    assert result.asks == levels(("101", "1"), ("102", "3"), ("104", "2"))
    assert result.venues_used == ("a", "b")  # sorted, whatever the input order


def test_vwap_when_qty_within_first_level_then_best_price() -> None:
    assert vwap(levels(("100", "2"), ("101", "5")), Decimal("1.5")) == Decimal(100)


def test_vwap_when_qty_spans_levels_then_size_weighted_average() -> None:
    book_levels = levels(("100", "1"), ("101", "2"), ("105", "10"))

    assert vwap(book_levels, Decimal(2)) == Decimal("100.5")
    assert vwap(book_levels, Decimal(3)) == Decimal(302) / 3
    assert vwap(book_levels, Decimal(4)) == Decimal(407) / 4


def test_vwap_when_qty_equals_total_depth_then_priced() -> None:
    assert vwap(levels(("100", "1"), ("102", "1")), Decimal(2)) == Decimal(101)


def test_vwap_when_qty_exceeds_depth_then_none() -> None:
    assert vwap(levels(("100", "1"), ("102", "1")), Decimal("2.00001")) is None
    assert vwap((), Decimal(1)) is None


def test_depth_when_levels_given_then_sum_of_sizes() -> None:
    assert depth(levels(("100", "1.5"), ("99", "2.25"))) == Decimal("3.75")
    assert depth(()) == Decimal(0)
