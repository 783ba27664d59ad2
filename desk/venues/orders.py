"""What the hedger needs from a venue's order entry, independent of ccxt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from desk.domain.fills import FillEvent, FillSource, exchange_booking_key
from desk.domain.side import Side


class ExchangeOrderStatus(StrEnum):
    """Binance's order states, which the simulator and ccxt's unified statuses map onto."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def final(self) -> bool:
        return self not in (ExchangeOrderStatus.NEW, ExchangeOrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class ExchangeFill:
    """One execution of a desk order on a venue, as the venue reported it."""

    venue: str
    symbol: str
    trade_id: str
    client_order_id: str
    exchange_order_id: str
    side: Side  # the desk's side on the venue
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    executed_at: datetime


def exchange_fill_event(fill: ExchangeFill) -> FillEvent:
    """The canonical form of an exchange fill, booked like a client trade."""
    return FillEvent(
        booking_key=exchange_booking_key(fill.venue, fill.trade_id),
        source=FillSource.EXCHANGE,
        symbol=fill.symbol,
        side=fill.side,
        qty=fill.qty,
        price=fill.price,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        executed_at=fill.executed_at,
        venue=fill.venue,
        client_order_id=fill.client_order_id,
    )


@dataclass(frozen=True, slots=True)
class ExchangeOrderState:
    """A desk order as the venue knows it, with every fill so far."""

    client_order_id: str
    exchange_order_id: str
    status: ExchangeOrderStatus
    qty: Decimal
    filled_qty: Decimal
    fills: tuple[ExchangeFill, ...]


class VenueOrders(Protocol):
    """Order entry on one venue. Raises only desk.venues.errors exceptions."""

    @property
    def venue(self) -> str: ...

    async def prepare(self) -> None:
        """Load the venue's markets and open its connection ahead of the first order."""
        ...

    async def place_market(
        self, symbol: str, side: Side, qty: Decimal, client_order_id: str
    ) -> ExchangeOrderState:
        """A market order with ``client_order_id`` (the venue refuses a reused id)."""
        ...

    async def place_limit_ioc(
        self, symbol: str, side: Side, qty: Decimal, price: Decimal, client_order_id: str
    ) -> ExchangeOrderState:
        """A limit immediate-or-cancel order: what cannot fill at ``price`` now expires."""
        ...

    async def order_by_client_id(
        self, symbol: str, client_order_id: str
    ) -> ExchangeOrderState | None:
        """The order with this client order id and its fills, or None if the venue never
        accepted it (safe to place it then)."""
        ...

    async def free_balance(self, asset: str) -> Decimal:
        """What the desk's account on this venue can spend of ``asset`` now."""
        ...

    async def close(self) -> None:
        """Release the HTTP session."""
        ...
