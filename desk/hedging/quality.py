"""Hedge quality: average price, slippage against the arrival mid and fees, in bps."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from desk.domain.side import Side
from desk.ledger.hedge_store import BatchResult, BookedFill
from desk.pricing.depth import BPS

_BPS_PLACES = Decimal("0.0001")


def batch_result(
    side: Side,
    arrival_mid: Decimal | None,
    booked: Sequence[BookedFill],
    quote_currency: str,
    base_currency: str,
    *,
    status: str,
    error: str | None = None,
) -> BatchResult:
    """The figures stored with a finished batch.

    Slippage is signed as a cost: positive when the desk bought above (or sold below) the
    arrival mid. Fees paid in the base asset are valued at the average price.
    """
    filled = sum((f.qty for f in booked), Decimal(0))
    if filled == 0:
        return BatchResult(status, Decimal(0), None, Decimal(0), None, None, error)
    avg = sum((f.qty * f.price for f in booked), Decimal(0)) / filled
    fees = Decimal(0)
    for f in booked:
        if f.fee_currency == quote_currency:
            fees += f.fee
        elif f.fee_currency == base_currency:
            fees += f.fee * f.price
    slippage = None
    if arrival_mid is not None and arrival_mid > 0:
        sign = 1 if side is Side.BUY else -1
        slippage = (sign * (avg - arrival_mid) / arrival_mid * BPS).quantize(_BPS_PLACES)
    fee_bps = (fees / (filled * avg) * BPS).quantize(_BPS_PLACES)
    return BatchResult(
        status=status,
        filled_qty=filled,
        avg_price=avg.quantize(Decimal("1e-12")),
        fees_quote=fees.quantize(Decimal("1e-12")),
        slippage_bps=slippage,
        fee_bps=fee_bps,
        error=error,
    )
