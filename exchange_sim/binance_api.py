"""Binance spot REST market-data handlers and response shapes, served per venue.

Routes (all ``GET``, JSON, shaped like ``https://api.binance.com``):

* ``/api/v3/ping`` -> ``{}``
* ``/api/v3/time`` -> ``{"serverTime": ms}``
* ``/api/v3/exchangeInfo[?symbol=X|?symbols=["X","Y"]]`` -> markets with Binance filters
* ``/api/v3/depth?symbol=X[&limit=N]`` -> ``{"lastUpdateId", "bids", "asks"}``
* ``/api/v3/ticker/bookTicker[?symbol=X|?symbols=[...]]`` -> best bid/ask (object or list)

Errors are ``{"code": <negative int>, "msg": ...}`` with Binance's own codes and messages,
so ccxt's ``binance.handle_errors`` maps them to the same exception classes as for the real
venue (-1121 -> ``BadSymbol``, -1100/-1102/-1128 -> ``BadRequest``). While the venue is
"down" every ``/api/`` route answers HTTP 503 with Binance's maintenance error, which ccxt
raises as ``OnMaintenance`` (a subclass of ``ExchangeNotAvailable``).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from exchange_sim.book import BookSnapshot, PriceLevel
from exchange_sim.config import SimSymbolConfig
from exchange_sim.exchange_info import exchange_info_document, wire_decimal
from exchange_sim.venue import SimVenue, server_time_ms

API_PREFIX = "/api/v3"
_SYMBOL_RE = re.compile(r"^[A-Z0-9\-_.]{1,20}$")
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)
DEFAULT_DEPTH_LIMIT = 100
# Binance's answer during maintenance; ccxt maps this exact message to OnMaintenance.
OUTAGE_CODE = 1
OUTAGE_MSG = "System is under maintenance."


class BinanceError(Exception):
    """A request error to be answered as Binance's ``{"code", "msg"}`` JSON."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        """``code``/``msg`` as Binance sends them; ``status`` is the HTTP status."""
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status


def error_response(code: int, msg: str, status: int) -> web.Response:
    """A Binance-style error response."""
    return web.json_response({"code": code, "msg": msg}, status=status)


def binance_middleware(venue: SimVenue) -> Middleware:
    """Middleware: 503 while the venue is down, and ``BinanceError`` -> error JSON."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        if venue.down:
            return error_response(OUTAGE_CODE, OUTAGE_MSG, status=503)
        try:
            return await handler(request)
        except BinanceError as err:
            return error_response(err.code, err.msg, err.status)

    return middleware


def _illegal(param: str, legal: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{param}'; legal range is '{legal}'."
    )


def _symbol_param(request: web.Request, venue: SimVenue) -> str | None:
    """The validated ``symbol`` query parameter (exchange form), or None when absent."""
    raw = request.query.get("symbol")
    if raw is None or raw == "":
        return None
    if not _SYMBOL_RE.match(raw):
        raise _illegal("symbol", _SYMBOL_RE.pattern)
    if not venue.has_exchange_id(raw):
        raise BinanceError(-1121, "Invalid symbol.")
    return raw


def _required_symbol(request: web.Request, venue: SimVenue) -> str:
    """Like :func:`_symbol_param` but the parameter is mandatory."""
    symbol = _symbol_param(request, venue)
    if symbol is None:
        raise BinanceError(
            -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
        )
    return symbol


def _symbols_param(request: web.Request, venue: SimVenue) -> list[str] | None:
    """The ``symbols`` JSON-array parameter (as ccxt sends it), validated, or None."""
    raw = request.query.get("symbols")
    if raw is None:
        return None
    if "symbol" in request.query:
        raise BinanceError(-1128, "Combination of optional parameters invalid.")
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise _illegal("symbols", '["SYMBOL",...]') from None
    if not isinstance(parsed, list) or not parsed:
        raise _illegal("symbols", '["SYMBOL",...]')
    for item in parsed:
        if not isinstance(item, str) or not _SYMBOL_RE.match(item):
            raise _illegal("symbols", _SYMBOL_RE.pattern)
        if not venue.has_exchange_id(item):
            raise BinanceError(-1121, "Invalid symbol.")
    return list(dict.fromkeys(parsed))


def _depth_limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return DEFAULT_DEPTH_LIMIT
    legal = ", ".join(str(n) for n in DEPTH_LIMITS)
    if not raw.isdigit() or int(raw) not in DEPTH_LIMITS:
        raise _illegal("limit", legal)
    return int(raw)


def wire_levels(levels: tuple[PriceLevel, ...], cfg: SimSymbolConfig) -> list[list[str]]:
    """``[["price", "qty"], ...]`` as Binance writes levels in depth answers and events."""
    return [[wire_decimal(lv.price, cfg.tick), wire_decimal(lv.qty, cfg.lot)] for lv in levels]


def _book_ticker(snap: BookSnapshot, cfg: SimSymbolConfig) -> dict[str, str]:
    zero = wire_decimal(Decimal(0))
    bid, ask = snap.best_bid, snap.best_ask
    return {
        "symbol": cfg.binance_id,
        "bidPrice": wire_decimal(bid.price, cfg.tick) if bid else zero,
        "bidQty": wire_decimal(bid.qty, cfg.lot) if bid else zero,
        "askPrice": wire_decimal(ask.price, cfg.tick) if ask else zero,
        "askQty": wire_decimal(ask.qty, cfg.lot) if ask else zero,
    }


class BinanceSpotApi:
    """The market-data handlers of one venue; :meth:`routes` plugs them into an app."""

    def __init__(self, venue: SimVenue) -> None:
        """Serve ``venue``'s books."""
        self._venue = venue

    def routes(self) -> list[web.RouteDef]:
        """Route table for the venue's aiohttp application."""
        p = API_PREFIX
        return [
            web.get(f"{p}/ping", self.ping),
            web.get(f"{p}/time", self.time),
            web.get(f"{p}/exchangeInfo", self.exchange_info),
            web.get(f"{p}/depth", self.depth),
            web.get(f"{p}/ticker/bookTicker", self.book_ticker),
        ]

    async def ping(self, request: web.Request) -> web.Response:
        """``GET /api/v3/ping``: connectivity check."""
        return web.json_response({})

    async def time(self, request: web.Request) -> web.Response:
        """``GET /api/v3/time``: server time in epoch ms."""
        return web.json_response({"serverTime": server_time_ms()})

    async def exchange_info(self, request: web.Request) -> web.Response:
        """``GET /api/v3/exchangeInfo``: trading rules for all or the requested symbols."""
        venue = self._venue
        single = _symbol_param(request, venue)
        wanted = _symbols_param(request, venue) or ([single] if single else None)
        configs = [b.config for b in venue.books()]
        if wanted is not None:
            configs = [c for c in configs if c.binance_id in wanted]
        return web.json_response(exchange_info_document(configs, server_time_ms()))

    async def depth(self, request: web.Request) -> web.Response:
        """``GET /api/v3/depth``: the top ``limit`` levels of one book."""
        symbol = _required_symbol(request, self._venue)
        limit = _depth_limit(request)
        book = self._venue.book(symbol)
        snap = book.snapshot()
        return web.json_response(
            {
                "lastUpdateId": snap.last_update_id,
                "bids": wire_levels(snap.bids[:limit], book.config),
                "asks": wire_levels(snap.asks[:limit], book.config),
            }
        )

    async def book_ticker(self, request: web.Request) -> web.Response:
        """``GET /api/v3/ticker/bookTicker``: one object for ``symbol``, else a list."""
        venue = self._venue
        symbols = _symbols_param(request, venue)
        single = _symbol_param(request, venue)
        if single is not None:
            book = venue.book(single)
            return web.json_response(_book_ticker(book.snapshot(), book.config))
        books = venue.books()
        if symbols is not None:
            books = [venue.book(s) for s in symbols]
        return web.json_response([_book_ticker(b.snapshot(), b.config) for b in books])
