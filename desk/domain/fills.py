"""The canonical fill: client trades and exchange fills alike, from the desk's side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from desk.domain.side import Side


class FillSource(StrEnum):
    CLIENT = "CLIENT"
    EXCHANGE = "EXCHANGE"


@dataclass(frozen=True, slots=True)
class FillEvent:
    """One fill as the desk books it, whatever its origin.

    ``side`` is the desk's side (a client buy is a desk SELL). ``booking_key`` is the
    idempotency key: ``client:<counterparty>:<ClOrdID>`` or ``exchange:<venue>:<trade id>``.
    ``settl_date`` is set for OTC fills (bilateral settlement); exchange fills settle on the
    venue at once.
    """

    booking_key: str
    source: FillSource
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    executed_at: datetime
    counterparty: str | None = None
    venue: str | None = None
    client_order_id: str | None = None
    settl_date: date | None = None

    @property
    def base(self) -> str:
        return self.symbol.partition("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.partition("/")[2]

    @property
    def signed_qty(self) -> Decimal:
        """How the fill moves the desk's base position."""
        return self.qty if self.side is Side.BUY else -self.qty


def client_booking_key(counterparty: str, cl_ord_id: str) -> str:
    """A client trade's key: its ClOrdID is unique per counterparty for ever."""
    return f"client:{counterparty}:{cl_ord_id}"


def exchange_booking_key(venue: str, trade_id: str) -> str:
    """An exchange fill's key: the venue's trade id is unique on that venue."""
    return f"exchange:{venue}:{trade_id}"
