"""The records a simulated venue keeps of orders and their trades, in Binance's terms."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from exchange_sim.matching import TakerSide


class OrderType(StrEnum):
    """The order types the simulator matches."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"


class TimeInForce(StrEnum):
    """Binance's time-in-force values for LIMIT orders."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    """The Binance order states the simulator produces."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"

    @property
    def open(self) -> bool:
        """Whether the order still rests on the book (and can be cancelled)."""
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class SimTrade:
    """One execution of an order, as ``myTrades`` and an order's ``fills`` report it."""

    trade_id: int
    order_id: int
    symbol: str  # exchange form, e.g. BTCUSDT
    side: TakerSide
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int

    @property
    def quote_qty(self) -> Decimal:
        """Price times quantity, in the quote asset."""
        return self.price * self.qty


@dataclass(slots=True)
class SimOrder:
    """An order accepted by the venue; mutable while it is open (fills, cancel)."""

    order_id: int
    client_order_id: str
    symbol: str  # exchange form
    side: TakerSide
    type: OrderType
    time_in_force: TimeInForce | None
    price: Decimal | None
    orig_qty: Decimal
    time_ms: int
    status: OrderStatus = OrderStatus.NEW
    executed_qty: Decimal = Decimal(0)
    cumulative_quote_qty: Decimal = Decimal(0)
    update_time_ms: int = 0
    # What the order still holds locked in the account (limit orders lock up front).
    locked_asset: str = ""
    locked_amount: Decimal = Decimal(0)
    trades: list[SimTrade] = field(default_factory=list)
    # Wall-clock microseconds when the venue accepted the order (the benchmark's hedge timer).
    received_at_us: int = field(default_factory=lambda: time.time_ns() // 1000)
