"""The desk's two-way price for a size, and the record of every input that made it.

Each side starts from what the market asks for the size: the higher (offer) or lower (bid)
of the composite at that size and the cost of hedging it on the consolidated book net of
taker fees. To that come the desk's margin (``spread_bps`` scaled by the client's tier) and
a volatility charge ``vol_multiplier * sigma * sqrt(quote TTL + expected hedge time)``; an
inventory skew then moves both sides against the desk's position. Finally each side is kept
strictly on its side of the fair value and rounded to the tick in the desk's favour.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from desk.config.model import InstrumentConfig, PricingConfig, TierConfig
from desk.domain.money import round_down, round_up
from desk.domain.pricing_inputs import PricingInputs
from desk.pricing.composite import HealthyBooks
from desk.pricing.depth import BPS, hedge_cost


@dataclass(frozen=True, slots=True)
class TwoWayPrice:
    """Bid and offer for one size, rounded to the tick in the desk's favour.

    ``raw_bid``/``raw_offer`` are the same prices before rounding (after the fair-value
    guard), kept so tests can check that rounding only ever helps the desk.
    """

    bid: Decimal
    offer: Decimal
    raw_bid: Decimal
    raw_offer: Decimal
    inputs: PricingInputs


def inventory_skew_bps(instrument: InstrumentConfig, inventory: Decimal) -> Decimal:
    """Bps to move both sides by: negative when the desk is long, capped either way."""
    raw = -inventory * instrument.skew_bps_per_unit
    cap = instrument.skew_cap_bps
    return max(-cap, min(cap, raw))


@functools.cache
def _sqrt_seconds(ms: int) -> Decimal:
    """The square root of ``ms`` milliseconds in seconds (one per instrument's horizon)."""
    return (Decimal(ms) / 1000).sqrt()


def price_two_way(
    instrument: InstrumentConfig,
    pricing: PricingConfig,
    tier: TierConfig,
    books: HealthyBooks,
    qty: Decimal,
    *,
    sigma_bps: Decimal,
    inventory: Decimal,
) -> TwoWayPrice:
    """Price both sides of ``qty``; raises ExcessSlippage when the size cannot be hedged
    within the instrument's slippage limit and its policy is to reject."""
    penalty = instrument.slippage_penalty_bps if instrument.over_slippage == "penalty" else None
    sized = books.at_size(qty)
    top = books.top()
    reference = top.fair
    hedge_ask = hedge_cost(
        books.hedge_levels(buying=True),
        qty,
        buying=True,
        max_slippage_bps=instrument.max_slippage_bps,
        penalty_bps=penalty,
    )
    hedge_bid = hedge_cost(
        books.hedge_levels(buying=False),
        qty,
        buying=False,
        max_slippage_bps=instrument.max_slippage_bps,
        penalty_bps=penalty,
    )
    margin_bps = instrument.spread_bps * tier.spread_multiplier
    horizon_ms = instrument.quote_ttl_ms + pricing.expected_hedge_ms
    vol_charge_bps = pricing.vol_multiplier * sigma_bps * _sqrt_seconds(horizon_ms)
    skew_bps = inventory_skew_bps(instrument, inventory)
    # Margin, volatility charge and skew are taken on the top-of-book composite so that they
    # do not depend on the size: only the market's own price for the size does.
    markup = reference * (margin_bps + vol_charge_bps) / BPS
    skew = reference * skew_bps / BPS
    offer_base = max(sized.ask, hedge_ask.price)
    bid_base = min(sized.bid, hedge_bid.price)
    tick = instrument.tick
    # Strictly on each side of fair, whatever the skew: the desk never buys above or sells
    # below its own fair value. The guards sit between fair and the top of the other side, so
    # they only move outward as the size grows and the price stays monotone in size.
    offer_floor = (top.bid + sized.ask) / 2
    bid_ceiling = (sized.bid + top.ask) / 2
    raw_offer = max(offer_base + markup + skew, round_down(offer_floor, tick) + tick)
    raw_bid = min(bid_base - markup + skew, round_up(bid_ceiling, tick) - tick)
    inputs = PricingInputs(
        venues_used=books.venues_used,
        venues_excluded=dict(books.excluded),
        fair=sized.fair,
        composite_bid=sized.bid,
        composite_ask=sized.ask,
        top_bid=top.bid,
        top_ask=top.ask,
        hedge_bid=hedge_bid.price,
        hedge_ask=hedge_ask.price,
        margin_bps=margin_bps,
        sigma_bps=sigma_bps,
        vol_charge_bps=vol_charge_bps,
        inventory=inventory,
        skew_bps=skew_bps,
        bid_size_premium=top.bid - bid_base,
        offer_size_premium=offer_base - top.ask,
        penalised_qty=max(hedge_ask.penalised_qty, hedge_bid.penalised_qty),
        tier=tier.name,
    )
    return TwoWayPrice(
        bid=round_down(raw_bid, tick),
        offer=round_up(raw_offer, tick),
        raw_bid=raw_bid,
        raw_offer=raw_offer,
        inputs=inputs,
    )
