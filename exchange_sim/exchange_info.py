"""Binance spot ``exchangeInfo`` documents and Binance's decimal wire format.

ccxt's ``binance.parse_market`` reads ``status``, ``baseAsset``/``quoteAsset``, the
``*Precision`` fields and the PRICE_FILTER / LOT_SIZE / MARKET_LOT_SIZE / NOTIONAL
filters; the other fields are here so the documents look like the real venue's to any
client that reads more.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from exchange_sim.config import SimSymbolConfig

# Binance prints every price and quantity with eight decimals ("60000.01000000").
_WIRE_PLACES = 8


def wire_decimal(value: Decimal, step: Decimal | None = None) -> str:
    """Plain decimal string with Binance's eight places (more if ``step`` needs them)."""
    places = _WIRE_PLACES
    if step is not None:
        places = max(places, -int(step.as_tuple().exponent))
    return format(value.quantize(_quantum(places)), "f")


@functools.cache
def _quantum(places: int) -> Decimal:
    # Every level of every depth event is written with this; built once per precision.
    return Decimal(1).scaleb(-places)


def _filters(cfg: SimSymbolConfig) -> list[dict[str, Any]]:
    """Binance's spot filter list; ccxt reads PRICE_FILTER, LOT_SIZE and NOTIONAL."""
    w = wire_decimal
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": w(cfg.tick, cfg.tick),
            "maxPrice": w(Decimal("1000000"), cfg.tick),
            "tickSize": w(cfg.tick, cfg.tick),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": w(cfg.lot, cfg.lot),
            "maxQty": w(Decimal("9000"), cfg.lot),
            "stepSize": w(cfg.lot, cfg.lot),
        },
        {"filterType": "ICEBERG_PARTS", "limit": 10},
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": w(Decimal(0)),
            "maxQty": w(Decimal("100"), cfg.lot),
            "stepSize": w(Decimal(0)),
        },
        {
            "filterType": "TRAILING_DELTA",
            "minTrailingAboveDelta": 10,
            "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 10,
            "maxTrailingBelowDelta": 2000,
        },
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": "5",
            "bidMultiplierDown": "0.2",
            "askMultiplierUp": "5",
            "askMultiplierDown": "0.2",
            "avgPriceMins": 5,
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": w(cfg.min_notional),
            "applyMinToMarket": True,
            "maxNotional": w(Decimal("9000000")),
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
    ]


def symbol_info(cfg: SimSymbolConfig) -> dict[str, Any]:
    """One ``exchangeInfo.symbols[]`` entry, as Binance lists a spot pair."""
    return {
        "symbol": cfg.binance_id,
        "status": "TRADING",
        "baseAsset": cfg.base,
        "baseAssetPrecision": 8,
        "quoteAsset": cfg.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT",
            "TAKE_PROFIT_LIMIT",
        ],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": _filters(cfg),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def exchange_info_document(configs: Sequence[SimSymbolConfig], server_time: int) -> dict[str, Any]:
    """The whole ``GET /api/v3/exchangeInfo`` answer for ``configs``."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [symbol_info(c) for c in configs],
    }
