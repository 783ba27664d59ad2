"""ccxt order books (dicts of ``[price, amount]`` lists) turned into the desk's VenueBook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from desk.marketdata.snapshot import BookSource, Level, VenueBook


def levels(raw: Sequence[Sequence[Any]], limit: int) -> tuple[Level, ...]:
    """The best ``limit`` levels as exact (price, quantity) pairs.

    The desk's exchanges parse levels as Decimal (see ``desk.venues.ccxt_factory``); a float
    here means a ccxt code path that bypasses that, and is refused rather than rounded.
    """
    result: list[Level] = []
    for price, qty, *_ in raw[:limit]:
        if not isinstance(price, Decimal) or not isinstance(qty, Decimal):
            raise TypeError(
                f"order book level {price!r}/{qty!r} is not Decimal: ccxt parsed it as "
                f"{type(price).__name__}"
            )
        result.append((price, qty))
    return tuple(result)


def venue_book(
    raw: Mapping[str, Any],
    *,
    venue: str,
    symbol: str,
    depth: int,
    source: BookSource,
    received_at: datetime,
) -> VenueBook:
    """A VenueBook of the top ``depth`` levels of a ccxt book; its nonce is the update id."""
    nonce = raw.get("nonce")
    return VenueBook(
        venue=venue,
        symbol=symbol,
        bids=levels(raw["bids"], depth),
        asks=levels(raw["asks"], depth),
        update_id=int(nonce) if nonce is not None else None,
        received_at=received_at,
        # MarketSnapshot.update sets the real change time.
        changed_mono=0.0,
        source=source,
    )
