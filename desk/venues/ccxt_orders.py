"""Order entry on a Binance-style venue through ccxt's async class: :class:`CcxtVenueOrders`.

This is the boundary where ccxt ends. Every ccxt exception is translated into
:mod:`desk.venues.errors`, and orders and fills are built from the venue's own strings
(``info``), so amounts are exact Decimals and no ccxt type leaks to the hedger.

Placing an order is where the translation matters most. The hedger may resend only when it
knows the venue never took the order, so anything that leaves that open -- a timeout, a
dropped connection, a 5xx, an answer that cannot be read, an error ccxt does not classify --
is :class:`AmbiguousOrderOutcome`, resolved by :meth:`CcxtVenueOrders.order_by_client_id`.
Only answers that say the order was refused are permanent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar

import ccxt.async_support as ccxt

from desk.config.model import DeskConfig, VenueConfig
from desk.domain.side import Side
from desk.venues.ccxt_factory import make_exchange
from desk.venues.errors import (
    AmbiguousOrderOutcome,
    InsufficientBalance,
    PermanentVenueError,
    RateLimited,
    TransientVenueError,
    VenueError,
)
from desk.venues.orders import (
    ExchangeFill,
    ExchangeOrderState,
    ExchangeOrderStatus,
    VenueOrders,
)

T = TypeVar("T")

# When a 429/418 comes without a usable Retry-After header. Binance always sends one; a
# short default keeps a venue that does not from stalling the hedger for long.
DEFAULT_RETRY_AFTER_S = 1.0
# Binance's largest myTrades page, and how many pages one order's fills may take: a
# market order walks at most a few hundred levels, so hitting the cap means a bug.
_TRADES_PAGE = 1000
_MAX_TRADE_PAGES = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Binance's answer to a reused client order id: the order exists, so it is resolved by
# querying that id, never treated as a refusal.
_DUPLICATE_MSG = "Duplicate order sent."
# Binance states beyond the desk's enum: the final state they amount to.
_STATUS_ALIASES = {"EXPIRED_IN_MATCH": ExchangeOrderStatus.EXPIRED}
_PERMANENT = (
    ccxt.AuthenticationError,
    ccxt.BadRequest,
    ccxt.InvalidOrder,
    ccxt.NotSupported,
    ccxt.ArgumentsRequired,
    ccxt.OperationRejected,
    ccxt.AccountSuspended,
)
_UNREADABLE = (KeyError, TypeError, ValueError, InvalidOperation)


def _utc_from_ms(ms: Any) -> datetime:
    # timedelta keeps the milliseconds exact; fromtimestamp(ms / 1000) goes through float.
    return _EPOCH + timedelta(milliseconds=int(ms))


def _status(raw: str) -> ExchangeOrderStatus:
    return _STATUS_ALIASES.get(raw) or ExchangeOrderStatus(raw)


class CcxtVenueOrders:
    """:class:`~desk.venues.orders.VenueOrders` over a ccxt async exchange (Binance spot).

    ``exchange`` comes from :func:`desk.venues.ccxt_factory.make_exchange` with the venue's
    API key and secret. One instance per venue; calls may run concurrently, except that a
    429's ``Retry-After`` is read from ``exchange.last_response_headers``, which the most
    recent response overwrites.
    """

    def __init__(self, venue: VenueConfig, exchange: Any) -> None:
        """Trade on ``venue`` through ``exchange``, which this object closes in :meth:`close`."""
        self._config = venue
        self._exchange = exchange

    @property
    def venue(self) -> str:
        """The venue's configured name."""
        return self._config.name

    # --- order entry -------------------------------------------------------------------

    async def prepare(self) -> None:
        """Load markets (exchangeInfo) and open the HTTP connection now: done lazily, they
        cost the first hedge order on a venue about 150 ms."""
        await self._reading(self._exchange.load_markets)

    async def place_market(
        self, symbol: str, side: Side, qty: Decimal, client_order_id: str
    ) -> ExchangeOrderState:
        """A market order; the answer carries its fills (Binance's FULL response)."""
        await self._check_precision(symbol, qty, None)
        info = await self._placing(
            lambda: self._exchange.create_order(
                symbol, "market", side.value.lower(), qty, None, {"clientOrderId": client_order_id}
            )
        )
        return await self._placed_state(symbol, info)

    async def place_limit_ioc(
        self, symbol: str, side: Side, qty: Decimal, price: Decimal, client_order_id: str
    ) -> ExchangeOrderState:
        """A limit IOC order: fills what crosses ``price`` now, the rest expires."""
        await self._check_precision(symbol, qty, price)
        params = {"clientOrderId": client_order_id, "timeInForce": "IOC"}
        info = await self._placing(
            lambda: self._exchange.create_order(
                symbol, "limit", side.value.lower(), qty, price, params
            )
        )
        return await self._placed_state(symbol, info)

    # --- reads ---------------------------------------------------------------------------

    async def order_by_client_id(
        self, symbol: str, client_order_id: str
    ) -> ExchangeOrderState | None:
        """The order and all its fills (from ``myTrades``), or None if the venue has none."""
        try:
            order = await self._exchange.fetch_order(
                None, symbol, {"origClientOrderId": client_order_id}
            )
        except ccxt.OrderNotFound:
            return None
        except ccxt.BaseError as exc:
            raise self._read_error(exc) from exc
        info = order["info"]
        order_id = self._read(lambda: str(info["orderId"]), TransientVenueError)
        fills = await self._fills_of(symbol, order_id, client_order_id)
        state = self._read(lambda: self._state(symbol, info, fills), TransientVenueError)
        if state.status.final and sum((f.qty for f in fills), Decimal(0)) != state.filled_qty:
            # Binance's trade records can trail its order records by a moment; a caller
            # that books fills must not see a final order with some of them missing.
            raise TransientVenueError(
                self.venue,
                f"{client_order_id}: trades not yet complete "
                f"({len(fills)} fills for executedQty {state.filled_qty})",
            )
        return state

    async def free_balance(self, asset: str) -> Decimal:
        """The free amount of ``asset`` (a unified currency code) in the venue account."""
        balance = await self._reading(self._exchange.fetch_balance)
        # ccxt builds these from the venue's strings with number = Decimal: exact.
        free = balance.get(asset, {}).get("free")
        return self._read(partial(Decimal, 0 if free is None else free), TransientVenueError)

    async def close(self) -> None:
        """Release the exchange's HTTP session."""
        await self._exchange.close()

    # --- ccxt boundary -------------------------------------------------------------------

    async def _placing(self, call: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """Send an order; ccxt's failure becomes the desk error the hedger acts on."""
        try:
            order = await call()
        except ccxt.BaseError as exc:
            raise self._placement_error(exc) from exc
        info: dict[str, Any] = self._read(lambda: order["info"], AmbiguousOrderOutcome)
        return info

    def _placement_error(self, exc: Exception) -> VenueError:
        venue, message = self.venue, f"order placement: {type(exc).__name__}: {exc}"
        if isinstance(exc, ccxt.DDoSProtection):
            return RateLimited(venue, message, self._retry_after_s())
        if isinstance(exc, ccxt.InvalidNonce):
            # The venue refused a stale timestamp before looking at the order.
            return TransientVenueError(venue, message)
        if isinstance(exc, ccxt.InsufficientFunds):
            return InsufficientBalance(venue, message)
        if isinstance(exc, ccxt.InvalidOrder) and _DUPLICATE_MSG in str(exc):
            return AmbiguousOrderOutcome(venue, message)
        if isinstance(exc, _PERMANENT):
            return PermanentVenueError(venue, message)
        # Network trouble, 5xx, unreadable answers and anything unclassified: the order
        # may exist.
        return AmbiguousOrderOutcome(venue, message)

    async def _reading(self, call: Callable[[], Awaitable[T]]) -> T:
        """A read, its ccxt failure translated."""
        try:
            return await call()
        except ccxt.BaseError as exc:
            raise self._read_error(exc) from exc

    def _read_error(self, exc: Exception) -> VenueError:
        venue, message = self.venue, f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ccxt.DDoSProtection):
            return RateLimited(venue, message, self._retry_after_s())
        if isinstance(exc, ccxt.InsufficientFunds | ccxt.InvalidNonce):
            return TransientVenueError(venue, message)
        if isinstance(exc, _PERMANENT):
            return PermanentVenueError(venue, message)
        # Reading again is harmless, so whatever is not clearly our fault is retried.
        return TransientVenueError(venue, message)

    def _retry_after_s(self) -> float:
        headers: Mapping[str, str] = self._exchange.last_response_headers or {}
        for name, value in headers.items():
            if name.lower() == "retry-after":
                try:
                    seconds = float(value)
                except ValueError:
                    # The HTTP-date form; Binance sends seconds, other venues rarely differ.
                    break
                return max(seconds, 0.0)
        return DEFAULT_RETRY_AFTER_S

    def _read(self, build: Callable[[], T], error: type[VenueError]) -> T:
        """Build from the venue's answer; a missing or malformed field becomes ``error``."""
        try:
            return build()
        except _UNREADABLE as exc:
            raise error(self.venue, f"unreadable answer: {type(exc).__name__}: {exc}") from exc

    async def _check_precision(self, symbol: str, qty: Decimal, price: Decimal | None) -> None:
        """Refuse amounts ccxt would silently round: the venue would trade something else."""
        try:
            await self._exchange.load_markets()
            sent_qty = self._exchange.amount_to_precision(symbol, qty)
            sent_price = None if price is None else self._exchange.price_to_precision(symbol, price)
        except ccxt.BaseError as exc:
            # Nothing was sent yet, so this is never ambiguous.
            error = self._read_error(exc)
            raise error from exc
        if Decimal(sent_qty) != qty:
            raise PermanentVenueError(self.venue, f"{symbol}: qty {qty} is not a lot multiple")
        if price is not None and Decimal(str(sent_price)) != price:
            raise PermanentVenueError(self.venue, f"{symbol}: price {price} is not on the tick")

    # --- building desk types from Binance answers ----------------------------------------

    async def _placed_state(self, symbol: str, info: dict[str, Any]) -> ExchangeOrderState:
        """The new order from a FULL answer; fetches the fills if the answer lacks some."""
        state = self._read(lambda: self._state(symbol, info, None), AmbiguousOrderOutcome)
        if sum((f.qty for f in state.fills), Decimal(0)) == state.filled_qty:
            return state
        try:
            fills = await self._fills_of(symbol, state.exchange_order_id, state.client_order_id)
        except VenueError as exc:
            # The order exists but its fills are unknown: the caller resolves by querying.
            raise AmbiguousOrderOutcome(self.venue, f"fills of a placed order: {exc}") from exc
        return self._read(lambda: self._state(symbol, info, fills), AmbiguousOrderOutcome)

    def _state(
        self, symbol: str, info: Mapping[str, Any], fills: list[ExchangeFill] | None
    ) -> ExchangeOrderState:
        """``fills`` from myTrades, or None to take them from the answer's ``fills``."""
        client_order_id = str(info["clientOrderId"])
        order_id = str(info["orderId"])
        if fills is None:
            side = Side(str(info["side"]))
            executed_at = _utc_from_ms(info["transactTime"])
            fills = [
                ExchangeFill(
                    venue=self.venue,
                    symbol=symbol,
                    trade_id=str(f["tradeId"]),
                    client_order_id=client_order_id,
                    exchange_order_id=order_id,
                    side=side,
                    qty=Decimal(f["qty"]),
                    price=Decimal(f["price"]),
                    fee=Decimal(f["commission"]),
                    fee_currency=self._currency_code(f["commissionAsset"]),
                    executed_at=executed_at,
                )
                for f in info.get("fills", [])
            ]
        return ExchangeOrderState(
            client_order_id=client_order_id,
            exchange_order_id=order_id,
            status=_status(str(info["status"])),
            qty=Decimal(info["origQty"]),
            filled_qty=Decimal(info["executedQty"]),
            fills=tuple(fills),
        )

    async def _fills_of(
        self, symbol: str, order_id: str, client_order_id: str
    ) -> list[ExchangeFill]:
        """Every trade of ``order_id`` from myTrades, paged by ``fromId``."""
        fills: list[ExchangeFill] = []
        params: dict[str, Any] = {"orderId": order_id}
        for _ in range(_MAX_TRADE_PAGES):
            trades = await self._reading(self._trades_call(symbol, dict(params)))
            page = self._read(
                partial(self._trade_fills, symbol, client_order_id, trades), TransientVenueError
            )
            fills.extend(page)
            if len(page) < _TRADES_PAGE:
                return fills
            params["fromId"] = int(page[-1].trade_id) + 1
        raise PermanentVenueError(
            self.venue, f"order {order_id} has more than {_TRADES_PAGE * _MAX_TRADE_PAGES} fills"
        )

    def _trades_call(
        self, symbol: str, params: dict[str, Any]
    ) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
        async def call() -> list[dict[str, Any]]:
            trades: list[dict[str, Any]] = await self._exchange.fetch_my_trades(
                symbol, None, _TRADES_PAGE, params
            )
            return trades

        return call

    def _trade_fills(
        self, symbol: str, client_order_id: str, trades: list[dict[str, Any]]
    ) -> list[ExchangeFill]:
        return [self._trade_fill(symbol, client_order_id, t["info"]) for t in trades]

    def _trade_fill(
        self, symbol: str, client_order_id: str, trade: Mapping[str, Any]
    ) -> ExchangeFill:
        """One Binance ``myTrades`` entry as an :class:`ExchangeFill`."""
        return ExchangeFill(
            venue=self.venue,
            symbol=symbol,
            trade_id=str(trade["id"]),
            client_order_id=client_order_id,
            exchange_order_id=str(trade["orderId"]),
            side=Side.BUY if trade["isBuyer"] else Side.SELL,
            qty=Decimal(trade["qty"]),
            price=Decimal(trade["price"]),
            fee=Decimal(trade["commission"]),
            fee_currency=self._currency_code(trade["commissionAsset"]),
            executed_at=_utc_from_ms(trade["time"]),
        )

    def _currency_code(self, venue_asset: Any) -> str:
        code: str = self._exchange.safe_currency_code(str(venue_asset))
        return code


def open_venue_orders(venue: VenueConfig, *, timeout_ms: int) -> VenueOrders:
    """Order entry on ``venue`` through a new ccxt exchange (keys from its env variables)."""
    return CcxtVenueOrders(venue, make_exchange(venue, timeout_ms=timeout_ms))


def open_hedging_venues(config: DeskConfig) -> dict[str, VenueOrders]:
    """Order entry on every configured venue, with the hedger's order timeout."""
    timeout_ms = config.hedging.order_timeout_ms
    return {v.name: open_venue_orders(v, timeout_ms=timeout_ms) for v in config.venues}
