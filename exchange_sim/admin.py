"""Admin HTTP API of one simulated venue, served on the venue's own port under ``/admin/``.

JSON in, JSON out. Numbers may be sent as JSON strings (preferred, exact) or JSON numbers
(parsed as Decimal, never float). Errors answer ``{"error": "<reason>"}`` with HTTP 400
(bad body) or 404 (unknown symbol). The admin API keeps answering while the venue is
"down", so an outage can always be ended.

Routes:

``POST /admin/books/{symbol}``
    ``symbol`` is unified and URL-encoded (``BTC%2FUSDT``) or exchange form (``BTCUSDT``).
    The body sets one or more of these keys (values as decimal strings; unknown keys are
    a 400 naming the key):

    * ``"mid": "61000"`` sets the mid exactly (a multiple of the tick), or
      ``"shift_bps": "-50"`` moves it by that many basis points (rounded to the tick);
      at most one of the two. The walk continues from the new mid.
    * ``"volatility_bps": "25"``: standard deviation of one walk step from now on,
      overriding the configured one (0 to 1000).
    * ``"offset_bps": "500"``: persistent displacement of this venue's mid from the walk it
      would follow otherwise, so the venue is "wildly off" yet keeps moving with the
      market; ``"0"`` removes it (above -10000, at most 10000). Applied before ``mid`` /
      ``shift_bps`` in the same body, which therefore set the displaced mid.
    * ``"crossed": true`` builds the book crossed: best bid a few ticks above best ask,
      still moving; ``false`` restores a normal book.
    * ``"depth_factor": "0.01"`` scales every level's size (a thin book); ``"1"``
      restores. Sizes stay at least one lot and the minimum notional (above 0, at most
      1000).

    All keys of one body are validated before any applies; then the book is rebuilt once
    and its ``lastUpdateId`` incremented, even while frozen, so depth streams push the
    change. Answers the symbol's state (see ``/admin/state``) plus ``venue``/``symbol``.

``POST /admin/freeze``
    Body ``{"frozen": true}`` stops the random walk: ``lastUpdateId`` stays constant and
    the REST endpoints keep answering the last book. ``{"frozen": false}`` resumes.
    Answers ``{"venue": ..., "frozen": bool}``.

``POST /admin/outage``
    Body ``{"down": true}`` makes every ``/api/`` route answer HTTP 503 with Binance's
    maintenance error (ccxt raises ``OnMaintenance``, an ``ExchangeNotAvailable``) until
    ``{"down": false}``; it also closes every open WebSocket and refuses new ones (503).
    Books keep moving during the outage unless frozen.
    Answers ``{"venue": ..., "down": bool}``.

``POST /admin/stream``
    Body ``{"down": true}`` closes every open WebSocket connection of the venue and
    refuses new upgrades with HTTP 503, while the REST API keeps working (a client must
    fall back to polling); ``{"down": false}`` accepts upgrades again.
    Answers ``{"venue": ..., "streamDown": bool, "wsClients": int}``.

``POST /admin/stream/gap``
    Body ``{}`` (or none). The next push on every open subscription skips one update id
    (``U`` is the previous ``u`` + 2 and that update's change is left out), so clients see
    a sequence gap and must resync from a REST snapshot. Subscriptions made afterwards are
    not affected. Answers ``{"venue": ..., "subscriptions": <how many will skip>}``.

``POST /admin/step``
    Body ``{"steps": 3}`` (optional, default 1, at most 10000) advances every book that
    many walk steps right now, even while frozen: lets tests move a frozen book by an
    exact amount. Answers the same document as ``/admin/state``.

``GET /admin/state``
    ``{"venue", "frozen", "down", "streamDown", "wsClients", "updateIntervalMs",
    "serverTime", "symbols": {unified: {"id", "mid", "lastUpdateId", "bestBid", "bestAsk",
    "volatilityBps", "offsetBps", "crossed", "depthFactor"}}}`` with prices and the
    settings as decimal strings.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from aiohttp import web

from exchange_sim.admin_json import AdminError, json_body, json_handler
from exchange_sim.depth_stream import DepthStreams
from exchange_sim.venue import SimVenue, UnknownSymbolError

_log = structlog.get_logger(__name__)
_MAX_MANUAL_STEPS = 10_000
_DECIMAL_BOOK_KEYS = ("mid", "shift_bps", "volatility_bps", "offset_bps", "depth_factor")
_BOOK_KEYS = (*_DECIMAL_BOOK_KEYS, "crossed")


def _decimal_field(body: dict[str, Any], key: str) -> Decimal:
    value = body[key]
    # bool is an int subclass; "true" as a price is a client bug, not 1.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise AdminError(400, f"{key} must be a decimal string or number")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise AdminError(400, f"{key} is not a decimal: {value!r}") from None
    if not result.is_finite():
        raise AdminError(400, f"{key} must be finite")
    return result


def _bool_field(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise AdminError(400, f'body must be {{"{key}": true|false}}')
    return value


class AdminApi:
    """The admin handlers of one venue; :meth:`routes` plugs them into an app."""

    def __init__(self, venue: SimVenue, streams: DepthStreams) -> None:
        """Control ``venue`` and its depth ``streams``."""
        self._venue = venue
        self._streams = streams

    def routes(self) -> list[web.RouteDef]:
        """Route table for the venue's aiohttp application."""
        return [
            # ".+" so an unescaped "BTC/USDT" reaches the handler as well as "BTC%2FUSDT".
            web.post("/admin/books/{symbol:.+}", json_handler(self.set_book)),
            web.post("/admin/freeze", json_handler(self.freeze)),
            web.post("/admin/outage", json_handler(self.outage)),
            web.post("/admin/stream", json_handler(self.stream)),
            web.post("/admin/stream/gap", json_handler(self.stream_gap)),
            web.post("/admin/step", json_handler(self.step)),
            web.get("/admin/state", json_handler(self.state)),
        ]

    async def set_book(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/books/{symbol}``: mid and scenario settings of one symbol."""
        venue = self._venue
        symbol = request.match_info["symbol"]
        try:
            book = venue.book(symbol)
        except UnknownSymbolError:
            raise AdminError(404, f"unknown symbol {symbol!r} on {venue.name}") from None
        body = await json_body(request)
        for key in body:
            if key not in _BOOK_KEYS:
                raise AdminError(400, f"unknown key {key!r}; allowed: {', '.join(_BOOK_KEYS)}")
        if not body:
            raise AdminError(400, f"body must set at least one of {', '.join(_BOOK_KEYS)}")
        if "mid" in body and "shift_bps" in body:
            raise AdminError(400, "mid and shift_bps exclude each other")
        changes: dict[str, Any] = {
            key: _decimal_field(body, key) for key in _DECIMAL_BOOK_KEYS if key in body
        }
        if "crossed" in body:
            if not isinstance(body["crossed"], bool):
                raise AdminError(400, "crossed must be true or false")
            changes["crossed"] = body["crossed"]
        try:
            snap = book.adjust(**changes)
        except ValueError as err:
            raise AdminError(400, str(err)) from None
        _log.info(
            "sim.admin.book_set",
            venue=venue.name,
            symbol=book.config.symbol,
            changes={k: str(v) for k, v in changes.items()},
            mid=str(snap.mid),
            last_update_id=snap.last_update_id,
        )
        entry: dict[str, Any] = venue.state()["symbols"][book.config.symbol]
        return {"venue": venue.name, "symbol": book.config.symbol, **entry}

    async def freeze(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/freeze``: stop or resume the random walk."""
        frozen = _bool_field(await json_body(request), "frozen")
        self._venue.frozen = frozen
        _log.info("sim.admin.freeze", venue=self._venue.name, frozen=frozen)
        return {"venue": self._venue.name, "frozen": frozen}

    async def outage(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/outage``: take the venue's REST API down or bring it back."""
        down = _bool_field(await json_body(request), "down")
        self._venue.down = down
        if down:
            await self._streams.close_all("venue down")
        _log.info("sim.admin.outage", venue=self._venue.name, down=down)
        return {"venue": self._venue.name, "down": down}

    async def stream(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/stream``: close and refuse WebSockets, or accept them again."""
        down = _bool_field(await json_body(request), "down")
        await self._streams.set_down(down)
        _log.info("sim.admin.stream", venue=self._venue.name, down=down)
        return {
            "venue": self._venue.name,
            "streamDown": down,
            "wsClients": self._streams.client_count,
        }

    async def stream_gap(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/stream/gap``: the next push of every subscription skips an id."""
        body = await json_body(request)
        if body:
            raise AdminError(400, "body must be empty or {}")
        count = self._streams.request_gap()
        _log.info("sim.admin.stream_gap", venue=self._venue.name, subscriptions=count)
        return {"venue": self._venue.name, "subscriptions": count}

    async def step(self, request: web.Request) -> dict[str, Any]:
        """``POST /admin/step``: advance every book by N walk steps, frozen or not."""
        body = await json_body(request)
        steps = body.get("steps", 1)
        if isinstance(steps, bool) or not isinstance(steps, int):
            raise AdminError(400, "steps must be an integer")
        if not 1 <= steps <= _MAX_MANUAL_STEPS:
            raise AdminError(400, f"steps must be between 1 and {_MAX_MANUAL_STEPS}")
        for _ in range(steps):
            for book in self._venue.books():
                book.step()
        _log.info("sim.admin.step", venue=self._venue.name, steps=steps)
        return self._state()

    async def state(self, request: web.Request) -> dict[str, Any]:
        """``GET /admin/state``: mids, lastUpdateIds and flags of this venue."""
        return self._state()

    def _state(self) -> dict[str, Any]:
        state = self._venue.state()
        state["streamDown"] = self._streams.down
        state["wsClients"] = self._streams.client_count
        return state
