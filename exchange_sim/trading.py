"""Order entry of one simulated venue: filters, balances, matching, order and trade records.

Orders are takers against the venue's simulated book (see :mod:`exchange_sim.matching`).
A MARKET order walks the book for its quantity; a LIMIT order takes what crosses its
price and then, by time in force, rests (GTC), expires (IOC) or, if it cannot fill whole,
expires untouched (FOK). A resting order never matches later (the book is synthetic), but
it keeps its funds locked until cancelled. Every fill pays ``taker_fee_bps`` in the asset
it delivers, as Binance charges spot takers without BNB.

Failures raise :class:`~exchange_sim.binance_api.BinanceError` with Binance's own code and
message, so the HTTP layer only has to serialise them. All of it runs on the simulator's
event loop, one call at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from exchange_sim.accounts import InsufficientBalanceError, SpotAccount
from exchange_sim.binance_api import BinanceError
from exchange_sim.config import SimSymbolConfig
from exchange_sim.matching import ConsumedLiquidity, Match, TakerSide, walk
from exchange_sim.orders import OrderStatus, OrderType, SimOrder, SimTrade, TimeInForce
from exchange_sim.venue import SimVenue

_BPS = Decimal(10000)
# Binance reports commissions with eight decimals (baseCommissionPrecision = 8).
_COMMISSION_STEP = Decimal("0.00000001")
# Large first ids, like the real venue's, catch clients that assume small ints.
_FIRST_ORDER_ID = 4_000_000_001
_FIRST_TRADE_ID = 900_000_001
INSUFFICIENT_BALANCE_MSG = "Account has insufficient balance for requested action."
DUPLICATE_ORDER_MSG = "Duplicate order sent."


def filter_failure(name: str) -> BinanceError:
    """Binance's -1013 answer for an order that breaks the ``name`` filter."""
    return BinanceError(-1013, f"Filter failure: {name}")


def insufficient_balance() -> BinanceError:
    """Binance's -2010 answer for an order the account cannot pay for."""
    return BinanceError(-2010, INSUFFICIENT_BALANCE_MSG)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated ``POST /api/v3/order``: types parsed, filters not yet checked."""

    symbol: str  # exchange form
    side: TakerSide
    type: OrderType
    time_in_force: TimeInForce | None
    qty: Decimal
    price: Decimal | None
    client_order_id: str


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


class VenueTrading:
    """The venue's single account, its orders and trades, and the matching of new orders."""

    def __init__(self, venue: SimVenue, now_ms: Callable[[], int]) -> None:
        """Trade on ``venue``'s books with the balances and fee from its config."""
        self._venue = venue
        self._now_ms = now_ms
        self._fee_rate = venue.config.taker_fee_bps / _BPS
        self.account = SpotAccount(venue.config.initial_balances)
        self._consumed = ConsumedLiquidity()
        self._orders: dict[int, SimOrder] = {}
        self._by_client_id: dict[str, SimOrder] = {}
        self._trades: list[SimTrade] = []
        self._next_order_id = _FIRST_ORDER_ID
        self._next_trade_id = _FIRST_TRADE_ID

    # --- queries ---------------------------------------------------------------------

    def orders(self) -> list[SimOrder]:
        """Every order the venue ever accepted, oldest first."""
        return list(self._orders.values())

    def open_orders(self, symbol: str | None) -> list[SimOrder]:
        """Resting orders, of ``symbol`` only when given."""
        return [
            o
            for o in self._orders.values()
            if o.status.open and (symbol is None or o.symbol == symbol)
        ]

    def find(self, symbol: str, order_id: int | None, client_order_id: str | None) -> SimOrder:
        """The order by id or client id on ``symbol``; -2013 if there is none."""
        order = self._lookup(symbol, order_id, client_order_id)
        if order is None:
            raise BinanceError(-2013, "Order does not exist.")
        return order

    def trades(
        self, symbol: str, order_id: int | None, from_id: int | None, limit: int
    ) -> list[SimTrade]:
        """``myTrades``: oldest first; from ``from_id`` on, else the most recent ``limit``."""
        mine = [
            t
            for t in self._trades
            if t.symbol == symbol and (order_id is None or t.order_id == order_id)
        ]
        if from_id is not None:
            return [t for t in mine if t.trade_id >= from_id][:limit]
        return mine[-limit:]

    # --- order entry -----------------------------------------------------------------

    def place(self, request: OrderRequest) -> SimOrder:
        """Check, match and book ``request``; the order as it stands afterwards."""
        if request.client_order_id in self._by_client_id:
            raise BinanceError(-2010, DUPLICATE_ORDER_MSG)
        cfg = self._venue.book(request.symbol).config
        snap = self._venue.snapshot(request.symbol)
        self._check_filters(request, cfg, snap.mid)
        levels = self._consumed.levels(snap, request.side)
        matches = walk(levels, request.side, request.qty, request.price)
        if request.time_in_force is TimeInForce.FOK and _total(matches) < request.qty:
            matches = []
        lock_asset, lock_amount = self._reservation(request, cfg, matches)
        try:
            self.account.lock(lock_asset, lock_amount)
        except InsufficientBalanceError:
            raise insufficient_balance() from None
        now = self._now_ms()
        order = SimOrder(
            order_id=self._next_order_id,
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force,
            price=request.price,
            orig_qty=request.qty,
            time_ms=now,
            update_time_ms=now,
            locked_asset=lock_asset,
            locked_amount=lock_amount,
        )
        self._next_order_id += 1
        self._orders[order.order_id] = order
        self._by_client_id[order.client_order_id] = order
        self._consumed.take(snap, request.side, matches)
        for match in matches:
            self._fill(order, cfg, match, now)
        self._settle_remainder(order)
        return order

    def cancel(self, symbol: str, order_id: int | None, client_order_id: str | None) -> SimOrder:
        """Cancel a resting order and release its funds; -2011 if none is open."""
        order = self._lookup(symbol, order_id, client_order_id)
        if order is None or not order.status.open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._release(order)
        order.status = OrderStatus.CANCELED
        order.update_time_ms = self._now_ms()
        return order

    # --- internals ---------------------------------------------------------------------

    def _lookup(
        self, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> SimOrder | None:
        order = (
            self._orders.get(order_id)
            if order_id is not None
            else self._by_client_id.get(client_order_id or "")
        )
        if order is None or order.symbol != symbol:
            return None
        if client_order_id is not None and order.client_order_id != client_order_id:
            return None
        return order

    @staticmethod
    def _check_filters(request: OrderRequest, cfg: SimSymbolConfig, mid: Decimal) -> None:
        """PRICE_FILTER, LOT_SIZE and NOTIONAL, as the venue's exchangeInfo lists them."""
        if request.price is not None and (
            request.price <= 0 or not _is_multiple(request.price, cfg.tick)
        ):
            raise filter_failure("PRICE_FILTER")
        if request.qty < cfg.lot or not _is_multiple(request.qty, cfg.lot):
            raise filter_failure("LOT_SIZE")
        # A market order's notional is taken at the current mid (Binance uses a recent
        # average price); a limit order's at its own price.
        price = mid if request.price is None else request.price
        if price * request.qty < cfg.min_notional:
            raise filter_failure("NOTIONAL")

    @staticmethod
    def _reservation(
        request: OrderRequest, cfg: SimSymbolConfig, matches: list[Match]
    ) -> tuple[str, Decimal]:
        """What the order must lock up front: the base it sells or the quote it may spend."""
        if request.side is TakerSide.SELL:
            return cfg.base, request.qty
        if request.price is not None:
            return cfg.quote, request.price * request.qty
        return cfg.quote, sum((m.price * m.qty for m in matches), Decimal(0))

    def _commission(self, received: Decimal) -> Decimal:
        return (received * self._fee_rate).quantize(_COMMISSION_STEP, rounding=ROUND_UP)

    def _fill(self, order: SimOrder, cfg: SimSymbolConfig, match: Match, now: int) -> None:
        cost = match.price * match.qty
        if order.side is TakerSide.BUY:
            spent_asset, spent, got_asset, got = cfg.quote, cost, cfg.base, match.qty
        else:
            spent_asset, spent, got_asset, got = cfg.base, match.qty, cfg.quote, cost
        commission = self._commission(got)
        self.account.spend_locked(spent_asset, spent)
        order.locked_amount -= spent
        self.account.credit(got_asset, got - commission)
        trade = SimTrade(
            trade_id=self._next_trade_id,
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=match.price,
            qty=match.qty,
            commission=commission,
            commission_asset=got_asset,
            time_ms=now,
        )
        self._next_trade_id += 1
        self._trades.append(trade)
        order.trades.append(trade)
        order.executed_qty += match.qty
        order.cumulative_quote_qty += cost

    def _settle_remainder(self, order: SimOrder) -> None:
        """Final status after matching; release what the order no longer needs locked."""
        left = order.orig_qty - order.executed_qty
        if left == 0:
            order.status = OrderStatus.FILLED
            self._release(order)
        elif order.time_in_force is TimeInForce.GTC:
            order.status = OrderStatus.PARTIALLY_FILLED if order.executed_qty else OrderStatus.NEW
            # A buy that filled below its limit locked more than the rest can cost.
            needed = left if order.side is TakerSide.SELL else left * (order.price or 0)
            surplus = order.locked_amount - needed
            if surplus > 0:
                self.account.unlock(order.locked_asset, surplus)
                order.locked_amount = needed
        else:
            order.status = OrderStatus.EXPIRED
            self._release(order)

    def _release(self, order: SimOrder) -> None:
        if order.locked_amount > 0:
            self.account.unlock(order.locked_asset, order.locked_amount)
        order.locked_amount = Decimal(0)


def _total(matches: list[Match]) -> Decimal:
    return sum((m.qty for m in matches), Decimal(0))
