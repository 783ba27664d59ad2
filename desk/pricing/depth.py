"""Walking book depth: VWAP to a size, fee-adjusted consolidated levels, slippage limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from desk.marketdata.snapshot import Level

BPS = Decimal(10_000)


def vwap(levels: Sequence[Level], qty: Decimal) -> Decimal | None:
    """Average price of taking ``qty`` from ``levels`` (best first); None if depth runs out."""
    remaining = qty
    cost = Decimal(0)
    for price, size in levels:
        take = min(size, remaining)
        cost += take * price
        remaining -= take
        if remaining <= 0:
            return cost / qty
    return None


def depth(levels: Iterable[Level]) -> Decimal:
    """Total size available on one side."""
    return sum((size for _, size in levels), Decimal(0))


def vwap_or_whole_book(levels: Sequence[Level], qty: Decimal) -> Decimal:
    """VWAP to ``qty``, or of the whole side when it holds less than ``qty``.

    A venue's price for a size it cannot fill alone is still best estimated by everything it
    shows; whether the desk can hedge the size is decided on the consolidated book.
    """
    price = vwap(levels, qty)
    if price is not None:
        return price
    total = depth(levels)
    return sum((p * s for p, s in levels), Decimal(0)) / total


def with_taker_fee(levels: Iterable[Level], fee_bps: Decimal, *, buying: bool) -> list[Level]:
    """Levels at the price the desk really pays (buying) or receives (selling) after fees."""
    factor = 1 + fee_bps / BPS if buying else 1 - fee_bps / BPS
    return [(price * factor, size) for price, size in levels]


def consolidate(sides: Iterable[Sequence[Level]], *, buying: bool) -> tuple[Level, ...]:
    """Merge several venues' levels of one side, best first (lowest ask, highest bid)."""
    merged = [level for side in sides for level in side]
    merged.sort(key=lambda level: level[0], reverse=not buying)
    return tuple(merged)


class ExcessSlippage(Exception):
    """The size is larger than the depth available within the slippage limit."""

    def __init__(self, qty: Decimal, available: Decimal, limit_bps: Decimal) -> None:
        super().__init__(f"{qty} exceeds {available} available within {limit_bps} bps")
        self.qty = qty
        self.available = available
        self.limit_bps = limit_bps


@dataclass(frozen=True, slots=True)
class HedgeCost:
    """What taking ``qty`` from the consolidated (fee-adjusted) book costs on average."""

    price: Decimal
    available_within_limit: Decimal
    penalised_qty: Decimal


def hedge_cost(
    levels: Sequence[Level],
    qty: Decimal,
    *,
    buying: bool,
    max_slippage_bps: Decimal,
    penalty_bps: Decimal | None,
) -> HedgeCost:
    """Average price of hedging ``qty`` on ``levels`` (consolidated, fee-adjusted, best first).

    Only levels within ``max_slippage_bps`` of the best count. A larger size raises
    ExcessSlippage, unless ``penalty_bps`` is given: then the remainder is priced at the
    slippage limit plus the penalty, which is worse than any level the desk could use, so the
    price still grows with size and is never at mid.
    """
    if not levels:
        raise ExcessSlippage(qty, Decimal(0), max_slippage_bps)
    best = levels[0][0]
    sign = 1 if buying else -1
    limit_px = best * (1 + sign * max_slippage_bps / BPS)
    usable = [(p, s) for p, s in levels if (p <= limit_px if buying else p >= limit_px)]
    available = depth(usable)
    if qty <= available:
        price = vwap(usable, qty)
        assert price is not None  # noqa: S101 - qty <= depth of usable
        return HedgeCost(price, available, Decimal(0))
    if penalty_bps is None:
        raise ExcessSlippage(qty, available, max_slippage_bps)
    penalty_px = best * (1 + sign * (max_slippage_bps + penalty_bps) / BPS)
    remainder = qty - available
    cost = sum((p * s for p, s in usable), Decimal(0)) + remainder * penalty_px
    return HedgeCost(cost / qty, available, remainder)
