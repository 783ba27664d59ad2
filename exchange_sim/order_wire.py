"""Binance's JSON shapes for orders, trades and the account, built from simulator records.

Amounts are decimal strings with Binance's eight places; ids and times are integers, as
on the real venue. ccxt's ``binance.parse_order``/``parse_trade``/``parse_balance`` read
these fields.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from exchange_sim.accounts import Balance
from exchange_sim.exchange_info import wire_decimal
from exchange_sim.matching import TakerSide
from exchange_sim.orders import SimOrder, SimTrade, TimeInForce

_ZERO = wire_decimal(Decimal(0))
_BPS = Decimal(10000)


class ResponseType(StrEnum):
    """``newOrderRespType``: how much of the new order the answer carries."""

    ACK = "ACK"
    RESULT = "RESULT"
    FULL = "FULL"


def _price(order: SimOrder) -> str:
    return _ZERO if order.price is None else wire_decimal(order.price)


def _time_in_force(order: SimOrder) -> str:
    # Binance reports GTC for market orders too.
    return (order.time_in_force or TimeInForce.GTC).value


def _order_fields(order: SimOrder) -> dict[str, Any]:
    """The fields every order answer (RESULT, query, open orders) shares."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": _price(order),
        "origQty": wire_decimal(order.orig_qty),
        "executedQty": wire_decimal(order.executed_qty),
        "cummulativeQuoteQty": wire_decimal(order.cumulative_quote_qty),
        "status": order.status.value,
        "timeInForce": _time_in_force(order),
        "type": order.type.value,
        "side": order.side.value,
    }


def new_order(order: SimOrder, response_type: ResponseType) -> dict[str, Any]:
    """The answer to ``POST /api/v3/order`` in the requested detail."""
    if response_type is ResponseType.ACK:
        return {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "transactTime": order.time_ms,
        }
    doc = {
        **_order_fields(order),
        "transactTime": order.time_ms,
        "origQuoteOrderQty": _ZERO,
        "workingTime": order.time_ms,
        "selfTradePreventionMode": "NONE",
    }
    if response_type is ResponseType.FULL:
        doc["fills"] = [
            {
                "price": wire_decimal(t.price),
                "qty": wire_decimal(t.qty),
                "commission": wire_decimal(t.commission),
                "commissionAsset": t.commission_asset,
                "tradeId": t.trade_id,
            }
            for t in order.trades
        ]
    return doc


def queried_order(order: SimOrder) -> dict[str, Any]:
    """One order as ``GET /api/v3/order`` and ``openOrders`` list it."""
    return {
        **_order_fields(order),
        "stopPrice": _ZERO,
        "icebergQty": _ZERO,
        "time": order.time_ms,
        "updateTime": order.update_time_ms,
        "isWorking": True,
        "workingTime": order.time_ms,
        "origQuoteOrderQty": _ZERO,
        "selfTradePreventionMode": "NONE",
    }


def canceled_order(order: SimOrder, cancel_client_id: str, now_ms: int) -> dict[str, Any]:
    """The answer to ``DELETE /api/v3/order``."""
    fields = _order_fields(order)
    return {
        **fields,
        "origClientOrderId": order.client_order_id,
        "clientOrderId": cancel_client_id,
        "transactTime": now_ms,
        "selfTradePreventionMode": "NONE",
    }


def my_trade(trade: SimTrade) -> dict[str, Any]:
    """One entry of ``GET /api/v3/myTrades``."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": wire_decimal(trade.price),
        "qty": wire_decimal(trade.qty),
        "quoteQty": wire_decimal(trade.quote_qty),
        "commission": wire_decimal(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time_ms,
        "isBuyer": trade.side is TakerSide.BUY,
        "isMaker": False,
        "isBestMatch": True,
    }


def account(balances: list[Balance], taker_fee_bps: Decimal, now_ms: int) -> dict[str, Any]:
    """The answer to ``GET /api/v3/account`` (a spot account that may trade)."""
    rate = wire_decimal(taker_fee_bps / _BPS)
    return {
        # Binance states these two in bps as integers.
        "makerCommission": int(taker_fee_bps),
        "takerCommission": int(taker_fee_bps),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": rate, "taker": rate, "buyer": _ZERO, "seller": _ZERO},
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms,
        "accountType": "SPOT",
        "balances": [
            {"asset": b.asset, "free": wire_decimal(b.free), "locked": wire_decimal(b.locked)}
            for b in balances
        ],
        "permissions": ["SPOT"],
        "uid": 0,
    }


def admin_order(order: SimOrder) -> dict[str, Any]:
    """One order as ``GET /admin/orders`` lists it (the venue's own record)."""
    return {
        **queried_order(order),
        "trades": [my_trade(t) for t in order.trades],
        "receivedAtUs": order.received_at_us,
    }
