"""desk.hedging: client order ids, clip schedules, routing across venues, hedge quality."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from desk.config.model import HedgingConfig
from desk.domain.side import Side
from desk.hedging.client_ids import hedge_client_order_id
from desk.hedging.quality import batch_result
from desk.hedging.router import route
from desk.hedging.schedule import Clip, clip_schedule
from desk.ledger.hedge_store import BookedFill
from tests.unit.builders import book

LOT = Decimal("0.001")


def test_client_order_id_when_same_inputs_then_same_id_within_binance_rules() -> None:
    cid = hedge_client_order_id("a1b2c3", 123456, 7, 2)

    assert cid == "otca1b2c3-b123456-c7-v2" == hedge_client_order_id("a1b2c3", 123456, 7, 2)
    assert len(cid) <= 36


def test_client_order_id_when_too_long_then_refused() -> None:
    with pytest.raises(ValueError, match="not valid"):
        hedge_client_order_id("a1b2c3", 10**30, 1, 1)


def test_schedule_when_immediate_then_one_clip_of_everything_on_the_lot() -> None:
    config = HedgingConfig(algo="immediate")

    assert clip_schedule(config, Decimal("1.23456"), LOT) == [Clip(0.0, Decimal("1.234"))]


def test_schedule_when_twap_then_even_clips_over_horizon_and_remainder_last() -> None:
    config = HedgingConfig(algo="twap", twap_clips=4, twap_horizon_ms=2000)

    clips = clip_schedule(config, Decimal("1.001"), LOT)

    assert [c.offset_s for c in clips] == [0.0, 0.5, 1.0, 1.5]
    assert [c.qty for c in clips] == [Decimal("0.250")] * 3 + [Decimal("0.251")]


def test_schedule_when_twap_size_smaller_than_clips_then_one_clip() -> None:
    config = HedgingConfig(algo="twap", twap_clips=4)

    assert clip_schedule(config, Decimal("0.003"), LOT) == [Clip(0.0, Decimal("0.003"))]


def test_route_when_one_venue_cheaper_after_fees_then_it_fills_first() -> None:
    a = book("a", asks=(("100.00", "1"), ("100.50", "5")))
    b = book("b", asks=(("100.02", "1"), ("100.03", "5")))

    # a charges 10 bps, b 0: b's 100.02 and 100.03 beat a's 100.10 after fees.
    shares = route(Decimal(3), Side.BUY, [a, b], {"a": Decimal(10), "b": Decimal(0)}, LOT, LOT)

    assert shares == {"b": Decimal(3)}


def test_route_when_size_needs_both_venues_then_split_by_marginal_cost() -> None:
    a = book("a", asks=(("100.00", "1"), ("101.00", "5")))
    b = book("b", asks=(("100.50", "1"), ("102.00", "5")))

    shares = route(Decimal("2.5"), Side.BUY, [a, b], {}, LOT, LOT)

    # 100.00 (a 1) -> 100.50 (b 1) -> 101.00 (a 0.5)
    assert shares == {"a": Decimal("1.5"), "b": Decimal(1)}


def test_route_when_selling_then_highest_bids_first() -> None:
    a = book("a", bids=(("99.00", "1"),))
    b = book("b", bids=(("99.50", "1"),))

    assert route(Decimal(1), Side.SELL, [a, b], {}, LOT, LOT) == {"b": Decimal(1)}


def test_route_when_a_share_is_below_the_minimum_then_it_moves_to_the_largest() -> None:
    a = book("a", asks=(("100.00", "1"),))
    b = book("b", asks=(("100.01", "5"),))

    shares = route(Decimal("1.0005"), Side.BUY, [a, b], {}, Decimal("0.0001"), Decimal("0.01"))

    assert shares == {"a": Decimal("1.0005")}
    assert sum(shares.values()) == Decimal("1.0005")


def test_route_when_books_too_thin_then_rest_goes_to_cheapest_venue() -> None:
    a = book("a", asks=(("100.00", "1"),))

    assert route(Decimal(3), Side.BUY, [a], {}, LOT, LOT) == {"a": Decimal(3)}


def test_quality_when_bought_above_arrival_then_positive_slippage_and_fee_bps() -> None:
    fills = [
        BookedFill(Decimal(1), Decimal("100.10"), Decimal("0.1001"), "USDT"),
        BookedFill(Decimal(1), Decimal("100.30"), Decimal("0.001"), "BTC"),
    ]

    result = batch_result(Side.BUY, Decimal(100), fills, "USDT", "BTC", status="DONE")

    assert result.filled_qty == Decimal(2)
    assert result.avg_price == Decimal("100.2")
    assert result.slippage_bps == Decimal(20)
    # 0.1001 USDT + 0.001 BTC at 100.30 = 0.2004 on 200.4 notional = 10 bps.
    assert result.fees_quote == Decimal("0.2004")
    assert result.fee_bps == Decimal(10)


def test_quality_when_sold_below_arrival_then_slippage_is_a_positive_cost() -> None:
    fills = [BookedFill(Decimal(1), Decimal("99.5"), Decimal(0), "USDT")]

    result = batch_result(Side.SELL, Decimal(100), fills, "USDT", "BTC", status="DONE")

    assert result.slippage_bps == Decimal(50)


def test_quality_when_nothing_filled_then_no_prices() -> None:
    result = batch_result(Side.BUY, Decimal(100), [], "USDT", "BTC", status="FAILED", error="x")

    assert (result.filled_qty, result.avg_price, result.slippage_bps) == (Decimal(0), None, None)
    assert result.error == "x"


def test_schedule_when_config_says_router_then_one_clip() -> None:
    assert len(clip_schedule(replace(HedgingConfig(), algo="router"), Decimal(5), LOT)) == 1
