"""Build ccxt's real async exchange classes (REST, or ``ccxt.pro`` for streams) from config."""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

from desk.config.model import VenueConfig
from desk.venues.request_throttle import RequestThrottle

# ccxt.pro pings every keepAlive ms and drops a connection after two missed pongs; Binance's
# default (180 s) would leave a dead socket undetected for six minutes.
_WS_KEEPALIVE_MS = 10_000


def make_exchange(venue: VenueConfig, *, timeout_ms: int, streaming: bool = False) -> Any:
    """A ccxt async exchange for ``venue``; ``api_url``/``ws_url`` point it at a simulator.

    With ``streaming`` the class comes from ``ccxt.pro`` (which also speaks REST), so the
    same object watches depth streams and polls as a fallback. ``number = Decimal`` plus the
    Decimal level parsers below make every price and amount a Decimal parsed from the
    exchange's own strings: money never passes through float.
    """
    module: Any = ccxt_pro if streaming else ccxt_async
    base_class = getattr(module, venue.ccxt_id, None)
    if base_class is None:
        kind = "ccxt.pro" if streaming else "ccxt"
        raise ValueError(f"venue {venue.name}: {kind} has no exchange {venue.ccxt_id!r}")
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
    if streaming:
        params["streaming"] = {"keepAlive": _WS_KEEPALIVE_MS}
    if venue.api_key_env:
        params["apiKey"] = os.environ.get(venue.api_key_env, "")
    if venue.secret_env:
        params["secret"] = os.environ.get(venue.secret_env, "")
    exchange = _decimal_class(base_class, streaming)(params)
    exchange.number = Decimal
    api_urls = dict(exchange.urls["api"])
    if venue.api_url:
        api_urls["public"] = venue.api_url
        api_urls["private"] = venue.api_url
    if streaming and venue.ws_url:
        api_urls["ws"] = {**api_urls.get("ws", {}), "spot": venue.ws_url}
    exchange.urls["api"] = api_urls
    return exchange


def _decimal_class(base_class: type[Any], streaming: bool) -> type[Any]:
    """``base_class`` with order-book levels parsed by ``safe_number`` instead of float.

    ccxt 4.5 parses REST book levels (``parse_order_book_bid_ask``) and Binance's stream
    deltas (``handle_delta``) with ``safe_float`` whatever ``exchange.number`` says. Floats
    would make prices inexact, and a book holding float levels from one path and Decimal
    levels from the other would keep both ``60000.01`` and ``Decimal("60000.01")`` as two
    levels, since they compare unequal. ``safe_number`` honours ``number = Decimal``.

    REST requests are paced by :class:`RequestThrottle` (ccxt's bucket and costs, idle time
    credited) instead of ccxt's throttler, which made every hedge order wait ~10 ms.
    """
    methods: dict[str, Any] = {
        "parse_order_book_bid_ask": _parse_bid_ask,
        "init_throttler": _init_request_throttle,
    }
    # handle_delta(bookside, delta) is Binance's (and its derivatives') signature; other
    # ccxt.pro classes name and shape their delta handlers differently.
    if streaming and issubclass(base_class, ccxt_pro.binance):
        methods["handle_delta"] = _handle_binance_delta
        # The feed paces its own stream retries (stream_retry_ms); ccxt's per-URL dial
        # backoff (doubling up to 30 s) would otherwise delay a recovered stream far longer.
        methods["ws_dial_delay"] = _no_dial_delay
    return type(f"Decimal{base_class.__name__}", (base_class,), methods)


def _parse_bid_ask(
    self: Any, bidask: Any, priceKey: Any = 0, amountKey: Any = 1, countOrIdKey: Any = 2
) -> list[Any]:
    # Same shape as ccxt's own (an optional third count/id entry), numbers via safe_number.
    level = [self.safe_number(bidask, priceKey), self.safe_number(bidask, amountKey)]
    count_or_id = self.safe_integer(bidask, countOrIdKey)
    if count_or_id is not None:
        level.append(count_or_id)
    return level


def _init_request_throttle(self: Any, cost: Any = None) -> None:
    # ccxt's REST throttler never credits idle time (see desk.venues.request_throttle).
    self.throttler = RequestThrottle(self.tokenBucket)


def _handle_binance_delta(self: Any, bookside: Any, delta: Any) -> None:
    # Every level of every depth event comes through here. Binance sends [price, qty] as
    # decimal strings: Decimal() reads them exactly as safe_number would, at a fraction of
    # its cost (safe_string, then parse_number); anything else goes the safe way.
    if type(delta) is list and len(delta) >= 2 and type(delta[0]) is type(delta[1]) is str:
        try:
            bookside.store(Decimal(delta[0]), Decimal(delta[1]))
            return
        except InvalidOperation:
            pass
    bookside.store(self.safe_number(delta, 0), self.safe_number(delta, 1))


def _no_dial_delay(self: Any, url: str) -> float:
    return 0.0
