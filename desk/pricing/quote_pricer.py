"""The desk's price for a size: composite mid, configured spread, and the cost of hedging it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from desk.config.model import InstrumentConfig
from desk.domain.money import round_down, round_up
from desk.pricing.composite import Composite, depth, vwap

BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class TwoWayPrice:
    """Bid and offer for one size, already rounded to the tick in the desk's favour."""

    bid: Decimal
    offer: Decimal
    mid: Decimal
    bid_size_premium: Decimal
    offer_size_premium: Decimal


class InsufficientDepth(Exception):
    """The size is larger than the healthy venues could hedge."""

    def __init__(self, qty: Decimal, available: Decimal) -> None:
        super().__init__(f"{qty} exceeds hedgeable depth {available}")
        self.qty = qty
        self.available = available


def price_two_way(instrument: InstrumentConfig, composite: Composite, qty: Decimal) -> TwoWayPrice:
    """Price both sides for ``qty``.

    Each side is the composite mid moved by ``spread_bps``, plus the size premium: how far the
    average price of hedging ``qty`` across the consolidated book is from its best level.
    """
    ask_vwap = vwap(composite.asks, qty)
    bid_vwap = vwap(composite.bids, qty)
    if ask_vwap is None:
        raise InsufficientDepth(qty, depth(composite.asks))
    if bid_vwap is None:
        raise InsufficientDepth(qty, depth(composite.bids))
    offer_premium = ask_vwap - composite.asks[0][0]
    bid_premium = composite.bids[0][0] - bid_vwap
    spread = composite.mid * instrument.spread_bps / BPS
    offer = round_up(composite.mid + spread + offer_premium, instrument.tick)
    bid = round_down(composite.mid - spread - bid_premium, instrument.tick)
    if bid >= offer:
        # Zero spread on a mid that sits on a tick: never quote a locked market.
        bid = offer - instrument.tick
    return TwoWayPrice(
        bid=bid,
        offer=offer,
        mid=composite.mid,
        bid_size_premium=bid_premium,
        offer_size_premium=offer_premium,
    )
