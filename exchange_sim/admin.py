"""Admin HTTP API of one simulated venue, served on the venue's own port under ``/admin/``.

JSON in, JSON out. Numbers may be sent as JSON strings (preferred, exact) or JSON numbers
(parsed as Decimal, never float). Errors answer ``{"error": "<reason>"}`` with HTTP 400
(bad body) or 404 (unknown symbol). The admin API keeps answering while the venue is
"down", so an outage can always be ended.

Routes:

``POST /admin/books/{symbol}``
    ``symbol`` is unified and URL-encoded (``BTC%2FUSDT``) or exchange form (``BTCUSDT``).
    Body ``{"mid": "61000"}`` sets the mid exactly (must be a multiple of the tick), or
    ``{"shift_bps": "-50"}`` moves it by that many basis points (rounded to the tick).
    Exactly one of the two keys. The book is rebuilt around the new mid and its
    ``lastUpdateId`` incremented, even while frozen. The random walk continues from the
    new mid. Answers the symbol's state (see ``/admin/state``) plus ``venue``/``symbol``.

``POST /admin/freeze``
    Body ``{"frozen": true}`` stops the random walk: ``lastUpdateId`` stays constant and
    the REST endpoints keep answering the last book. ``{"frozen": false}`` resumes.
    Answers ``{"venue": ..., "frozen": bool}``.

``POST /admin/outage``
    Body ``{"down": true}`` makes every ``/api/`` route answer HTTP 503 with Binance's
    maintenance error (ccxt raises ``OnMaintenance``, an ``ExchangeNotAvailable``) until
    ``{"down": false}``. Books keep moving during the outage unless frozen.
    Answers ``{"venue": ..., "down": bool}``.

``POST /admin/step``
    Body ``{"steps": 3}`` (optional, default 1, at most 10000) advances every book that
    many walk steps right now, even while frozen: lets tests move a frozen book by an
    exact amount. Answers the same document as ``/admin/state``.

``GET /admin/state``
    ``{"venue", "frozen", "down", "updateIntervalMs", "serverTime", "symbols": {unified:
    {"id", "mid", "lastUpdateId", "bestBid", "bestAsk"}}}`` with prices as strings.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from exchange_sim.venue import SimVenue, UnknownSymbolError

_log = structlog.get_logger(__name__)
_MAX_MANUAL_STEPS = 10_000
_AdminHandler = Callable[[web.Request], Awaitable[dict[str, Any]]]


class _AdminError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, numbers as Decimal/int (never float)."""
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text, parse_float=Decimal)
    except ValueError as err:
        raise _AdminError(400, f"body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise _AdminError(400, "body must be a JSON object")
    return body


def _decimal_field(body: dict[str, Any], key: str) -> Decimal:
    value = body[key]
    # bool is an int subclass; "true" as a price is a client bug, not 1.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _AdminError(400, f"{key} must be a decimal string or number")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise _AdminError(400, f"{key} is not a decimal: {value!r}") from None
    if not result.is_finite():
        raise _AdminError(400, f"{key} must be finite")
    return result


def _bool_field(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise _AdminError(400, f'body must be {{"{key}": true|false}}')
    return value


class AdminApi:
    """The admin handlers of one venue; :meth:`routes` plugs them into an app."""

    def __init__(self, venue: SimVenue) -> None:
        """Control ``venue``."""
        self._venue = venue

    def routes(self) -> list[web.RouteDef]:
        """Route table for the venue's aiohttp application."""
        return [
            # ".+" so an unescaped "BTC/USDT" reaches the handler as well as "BTC%2FUSDT".
            web.post("/admin/books/{symbol:.+}", self._wrap(self.set_book)),
            web.post("/admin/freeze", self._wrap(self.freeze)),
            web.post("/admin/outage", self._wrap(self.outage)),
            web.post("/admin/step", self._wrap(self.step)),
            web.get("/admin/state", self._wrap(self.state)),
        ]

    @staticmethod
    def _wrap(handler: _AdminHandler) -> Handler:
        """Turn a handler returning a dict into one answering JSON (or a JSON error)."""

        async def wrapped(request: web.Request) -> web.Response:
            try:
                result: dict[str, Any] = await handler(request)
            except _AdminError as err:
                return web.json_response({"error": err.reason}, status=err.status)
            return web.json_response(result)

        return wrapped

    async def set_book(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/books/{symbol}``: set or shift one symbol's mid."""
        venue = self._venue
        symbol = request.match_info["symbol"]
        try:
            book = venue.book(symbol)
        except UnknownSymbolError:
            raise _AdminError(404, f"unknown symbol {symbol!r} on {venue.name}") from None
        body = await _json_body(request)
        keys = {"mid", "shift_bps"} & body.keys()
        if len(keys) != 1 or len(body) != 1:
            raise _AdminError(400, 'body must be exactly {"mid": "..."} or {"shift_bps": "..."}')
        try:
            if "mid" in body:
                snap = book.set_mid(_decimal_field(body, "mid"))
            else:
                snap = book.shift_mid_bps(_decimal_field(body, "shift_bps"))
        except ValueError as err:
            raise _AdminError(400, str(err)) from None
        _log.info(
            "sim.admin.mid_set",
            venue=venue.name,
            symbol=book.config.symbol,
            mid=str(snap.mid),
            last_update_id=snap.last_update_id,
        )
        entry: dict[str, Any] = venue.state()["symbols"][book.config.symbol]
        return {"venue": venue.name, "symbol": book.config.symbol, **entry}

    async def freeze(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/freeze``: stop or resume the random walk."""
        frozen = _bool_field(await _json_body(request), "frozen")
        self._venue.frozen = frozen
        _log.info("sim.admin.freeze", venue=self._venue.name, frozen=frozen)
        return {"venue": self._venue.name, "frozen": frozen}

    async def outage(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/outage``: take the venue's REST API down or bring it back."""
        down = _bool_field(await _json_body(request), "down")
        self._venue.down = down
        _log.info("sim.admin.outage", venue=self._venue.name, down=down)
        return {"venue": self._venue.name, "down": down}

    async def step(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/step``: advance every book by N walk steps, frozen or not."""
        body = await _json_body(request)
        steps = body.get("steps", 1)
        if isinstance(steps, bool) or not isinstance(steps, int):
            raise _AdminError(400, "steps must be an integer")
        if not 1 <= steps <= _MAX_MANUAL_STEPS:
            raise _AdminError(400, f"steps must be between 1 and {_MAX_MANUAL_STEPS}")
        for _ in range(steps):
            for book in self._venue.books():
                book.step()
        _log.info("sim.admin.step", venue=self._venue.name, steps=steps)
        return self._venue.state()

    async def state(self, request: web.Request) -> dict[str, Any]:
        """``GET /admin/state``: mids, lastUpdateIds and flags of this venue."""
        return self._venue.state()
