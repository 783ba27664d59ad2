"""Splitting a clip across venues by the marginal cost of their books, net of fees."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from desk.domain.money import round_down
from desk.domain.side import Side
from desk.marketdata.snapshot import VenueBook
from desk.pricing.depth import BPS


def route(
    qty: Decimal,
    side: Side,
    books: Sequence[VenueBook],
    taker_fee_bps: Mapping[str, Decimal],
    lot: Decimal,
    min_qty: Decimal,
) -> dict[str, Decimal]:
    """Quantity per venue: take the cheapest fee-adjusted level anywhere until ``qty`` is
    covered, then round each venue's share down to the lot and give the rounding (and any
    share below ``min_qty``) to the venue with the largest share. Depth beyond the books
    goes to the cheapest venue too: a market order there walks further than we can see."""
    if not books:
        return {}
    buying = side is Side.BUY
    levels: list[tuple[Decimal, str, Decimal]] = []
    for book in books:
        fee = taker_fee_bps.get(book.venue, Decimal(0))
        factor = 1 + fee / BPS if buying else 1 - fee / BPS
        for price, size in book.asks if buying else book.bids:
            levels.append((price * factor, book.venue, size))
    levels.sort(key=lambda level: level[0], reverse=not buying)
    shares: dict[str, Decimal] = {}
    remaining = qty
    for _, venue, size in levels:
        if remaining <= 0:
            break
        take = min(size, remaining)
        shares[venue] = shares.get(venue, Decimal(0)) + take
        remaining -= take
    cheapest = levels[0][1] if levels else books[0].venue
    if remaining > 0:
        shares[cheapest] = shares.get(cheapest, Decimal(0)) + remaining
    rounded = {venue: round_down(share, lot) for venue, share in shares.items()}
    small = [v for v, q in rounded.items() if q < min_qty]
    for venue in small:
        del rounded[venue]
    if not rounded:
        return {cheapest: qty}
    largest = max(rounded, key=lambda v: (rounded[v], v == cheapest))
    rounded[largest] += qty - sum(rounded.values(), Decimal(0))
    return {venue: q for venue, q in rounded.items() if q > 0}
