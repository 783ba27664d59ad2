"""Build ccxt's real async exchange classes from venue configuration."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async

from desk.config.model import VenueConfig


def make_exchange(venue: VenueConfig, *, timeout_ms: int) -> Any:
    """A ccxt async exchange for ``venue``; an ``api_url`` points it at a simulator.

    ``number = Decimal`` makes ccxt parse every price and amount from the exchange's own
    strings into Decimals: money never passes through float.
    """
    exchange_class = getattr(ccxt_async, venue.ccxt_id, None)
    if exchange_class is None:
        raise ValueError(f"venue {venue.name}: ccxt has no exchange {venue.ccxt_id!r}")
    params: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        "options": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "adjustForTimeDifference": False,
        },
    }
    if venue.api_key_env:
        params["apiKey"] = os.environ.get(venue.api_key_env, "")
    if venue.secret_env:
        params["secret"] = os.environ.get(venue.secret_env, "")
    exchange = exchange_class(params)
    exchange.number = Decimal
    if venue.api_url:
        api_urls = dict(exchange.urls["api"])
        api_urls["public"] = venue.api_url
        api_urls["private"] = venue.api_url
        exchange.urls["api"] = api_urls
    return exchange
