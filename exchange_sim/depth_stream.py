"""Binance's spot WebSocket diff-depth stream, served on each venue's own port.

Clients connect to ``/ws`` or ``/ws/<anything>`` (ccxt appends a stream index, e.g.
``/ws/0``; a Binance raw-stream path such as ``/ws/btcusdt@depth@100ms`` subscribes that
stream at once) and send Binance's JSON requests, each answered with its ``id``::

    {"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1} -> {"result": null, ...}
    {"method": "UNSUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 2} -> {"result": null, ...}
    {"method": "LIST_SUBSCRIPTIONS", "id": 3} -> {"result": ["btcusdt@depth@100ms"], "id": 3}

Bad JSON answers ``{"error": {"code": 3, ...}, "id": null}``, any other bad request
(unknown method or stream, wrong types) ``{"error": {"code": 2, "msg": "Invalid request: ..."},
"id": N}`` and changes nothing. Streams are ``<lowercase symbol id>@depth@100ms`` (a push at
most every 100 ms) and ``<id>@depth`` (every 1000 ms). A push is sent only when the book
changed since the last push on that subscription, as a ``depthUpdate`` listing every level
the updates since the last push touched (see :mod:`exchange_sim.depth_diff`), so ``U`` is
always the previous ``u + 1`` unless a gap was asked for through the admin API. Subscribing
an already subscribed stream is acknowledged again and the stream carries on without a
break (ccxt resubscribes after a gap and takes a new REST snapshot, which the running
sequence then continues).

Upgrades are refused with HTTP 503 while the venue is down (REST outage) or its streams are
down (``POST /admin/stream``), and open sockets are closed when either happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from exchange_sim.binance_api import OUTAGE_CODE, OUTAGE_MSG
from exchange_sim.book import BookUpdate, SimOrderBook
from exchange_sim.depth_diff import depth_update
from exchange_sim.venue import SimVenue, server_time_ms

_log = structlog.get_logger(__name__)
# One scheduler tick; the 1000 ms stream pushes every tenth tick.
_TICK_S = 0.1
_TICKS_BY_SUFFIX = {"@depth@100ms": 1, "@depth": 10}
# Bounds the close handshake, so switching streams off or stopping the venue never waits
# long on a client that does not answer the close frame.
_CLOSE_TIMEOUT_S = 1.0
# Binance's websocket API error codes.
_INVALID_REQUEST = 2
_INVALID_JSON = 3
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS")


class _InvalidRequest(Exception):
    """A request to answer with Binance's ``{"error": {"code", "msg"}, "id"}``."""

    def __init__(self, msg: str, request_id: Any = None, code: int = _INVALID_REQUEST) -> None:
        super().__init__(msg)
        self.msg = msg
        self.request_id = request_id
        self.code = code


@dataclass(eq=False, slots=True)
class _Subscription:
    """One stream on one connection: the updates its client has not been sent yet."""

    name: str
    book: SimOrderBook
    every_ticks: int
    # ``u`` of the last push (at first, the book's id when subscribed): the next ``U - 1``.
    last_id: int
    pending: list[BookUpdate] = field(default_factory=list)
    skip_next: bool = False

    def on_update(self, update: BookUpdate) -> None:
        """Book listener: remember the update for the next push."""
        self.pending.append(update)

    def next_event(self) -> dict[str, Any] | None:
        """The event to push now, or None when the book has not moved since the last push."""
        if self.skip_next and self.pending:
            # Drop the oldest unsent update as if its message had been lost: the next event
            # starts one id later and lacks that update's changes.
            self.last_id = self.pending.pop(0).snapshot.last_update_id
            self.skip_next = False
        if not self.pending:
            return None
        event = depth_update(
            self.pending,
            self.book.config,
            first_update_id=self.last_id + 1,
            event_time_ms=server_time_ms(),
        )
        self.last_id = self.pending[-1].snapshot.last_update_id
        self.pending.clear()
        return event


@dataclass(eq=False, slots=True)
class _Connection:
    ws: web.WebSocketResponse
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    # Acks and pushes come from two tasks; the lock keeps frames whole and ordered (an ack
    # always precedes the first event of the stream it acknowledges).
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(payload, separators=(",", ":")))


class DepthStreams:
    """The WebSocket endpoint of one venue: connections, subscriptions, pushes, switches."""

    def __init__(self, venue: SimVenue) -> None:
        """Stream ``venue``'s books; streams start up."""
        self._venue = venue
        self._connections: set[_Connection] = set()
        self.down = False

    def routes(self) -> list[web.RouteDef]:
        """Route table for the venue's aiohttp application."""
        return [web.get("/ws", self.handle), web.get("/ws/{tail:.*}", self.handle)]

    @property
    def client_count(self) -> int:
        """Open WebSocket connections right now."""
        return len(self._connections)

    def refusing(self) -> bool:
        """Whether upgrades are refused (venue outage or streams switched off)."""
        return self.down or self._venue.down

    async def set_down(self, down: bool) -> None:
        """Switch the streams off (closing every socket) or back on."""
        self.down = down
        if down:
            await self.close_all("streams down")

    def request_gap(self) -> int:
        """Make the next push of every subscription skip one update id; returns how many."""
        count = 0
        for conn in self._connections:
            for sub in conn.subscriptions.values():
                sub.skip_next = True
                count += 1
        return count

    async def close_all(self, reason: str) -> None:
        """Close every open socket (going-away), bounded by the close timeout."""
        conns = list(self._connections)
        # Forget them now so the client count is right as soon as this returns.
        self._connections.difference_update(conns)
        await asyncio.gather(
            *(_close(c.ws, reason) for c in conns),
            return_exceptions=True,
        )
        if conns:
            _log.info("sim.stream.closed_all", venue=self._venue.name, connections=len(conns))

    async def on_shutdown(self, app: web.Application) -> None:
        """aiohttp shutdown hook: open sockets would otherwise hold the server's stop up."""
        await self.close_all("server shutdown")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /ws[/...]``: upgrade, then serve requests and pushes until either side closes."""
        if self.refusing():
            return web.json_response({"code": OUTAGE_CODE, "msg": OUTAGE_MSG}, status=503)
        # No permessage-deflate: the simulator shares the desk's machine in tests and in the
        # benchmark, and compressing every depth event cost it more than building the event.
        ws = web.WebSocketResponse(timeout=_CLOSE_TIMEOUT_S, compress=False)
        if not ws.can_prepare(request).ok:
            return web.json_response(
                {"code": _INVALID_REQUEST, "msg": "expected a WebSocket upgrade"}, status=400
            )
        await ws.prepare(request)
        conn = _Connection(ws)
        self._connections.add(conn)
        _log.info("sim.stream.connected", venue=self._venue.name, path=request.path)
        tail = request.match_info.get("tail", "")
        with contextlib.suppress(_InvalidRequest):
            # A raw-stream path subscribes at once; any other tail (ccxt's "0") is a label.
            self._subscribe(conn, [tail])
        pusher = asyncio.create_task(self._push_loop(conn), name=f"sim-ws-{self._venue.name}")
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._answer(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await self._reply_error(conn, _InvalidRequest("binary frames not supported"))
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            self._connections.discard(conn)
            for sub in conn.subscriptions.values():
                sub.book.remove_listener(sub.on_update)
            await _close(ws, "bye")
        return ws

    async def _answer(self, conn: _Connection, text: str) -> None:
        try:
            method, params, request_id = _parse_request(text)
            async with conn.send_lock:
                if method == "SUBSCRIBE":
                    self._subscribe(conn, params, request_id)
                    result: Any = None
                elif method == "UNSUBSCRIBE":
                    self._unsubscribe(conn, params, request_id)
                    result = None
                else:
                    result = sorted(conn.subscriptions)
                await conn.send({"result": result, "id": request_id})
        except _InvalidRequest as err:
            await self._reply_error(conn, err)

    async def _reply_error(self, conn: _Connection, err: _InvalidRequest) -> None:
        async with conn.send_lock:
            await conn.send({"error": {"code": err.code, "msg": err.msg}, "id": err.request_id})

    def _stream_book(self, name: str, request_id: Any) -> tuple[SimOrderBook, int]:
        for suffix, every in _TICKS_BY_SUFFIX.items():
            symbol_id = name.removesuffix(suffix)
            # Binance stream names carry the symbol id in lower case, and only that form.
            known = symbol_id != name and symbol_id == symbol_id.lower()
            if known and self._venue.has_exchange_id(symbol_id.upper()):
                return self._venue.book(symbol_id.upper()), every
        raise _InvalidRequest(f"Invalid request: unknown stream {name!r}", request_id)

    def _subscribe(self, conn: _Connection, names: list[str], request_id: Any = None) -> None:
        # Resolve every name first so a bad one leaves the subscriptions unchanged.
        resolved = [(name, *self._stream_book(name, request_id)) for name in names]
        for name, book, every in resolved:
            if name not in conn.subscriptions:
                sub = _Subscription(name, book, every, last_id=book.last_update_id)
                book.add_listener(sub.on_update)
                conn.subscriptions[name] = sub

    def _unsubscribe(self, conn: _Connection, names: list[str], request_id: Any) -> None:
        for name in names:
            self._stream_book(name, request_id)
        for name in names:
            sub = conn.subscriptions.pop(name, None)
            if sub is not None:
                sub.book.remove_listener(sub.on_update)

    async def _push_loop(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + _TICK_S
        tick = 0
        try:
            while not conn.ws.closed:
                # Absolute deadlines keep a steady 100 ms cadence however long a push takes.
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                next_at = max(next_at + _TICK_S, loop.time())
                tick += 1
                if self.refusing():
                    self._connections.discard(conn)
                    await _close(conn.ws, "stream down")
                    return
                async with conn.send_lock:
                    for sub in list(conn.subscriptions.values()):
                        event = sub.next_event() if tick % sub.every_ticks == 0 else None
                        if event is not None:
                            await conn.send(event)
        except ConnectionResetError:
            # The client went away between the closed check and the write: nothing to do.
            return


async def _close(ws: web.WebSocketResponse, reason: str) -> None:
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=reason.encode())


def _parse_request(text: str) -> tuple[str, list[str], Any]:
    """``(method, params, id)`` of a websocket request, or :class:`_InvalidRequest`."""
    try:
        request = json.loads(text)
    except ValueError as err:
        raise _InvalidRequest(f"Invalid JSON: {err}", code=_INVALID_JSON) from None
    if not isinstance(request, dict):
        raise _InvalidRequest("Invalid request: expected a JSON object")
    request_id = request.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str | None):
        raise _InvalidRequest("Invalid request: id must be an integer or a string")
    method = request.get("method")
    if method not in _METHODS:
        raise _InvalidRequest(f"Invalid request: unknown method {method!r}", request_id)
    params = request.get("params", [])
    if method != "LIST_SUBSCRIPTIONS" and (
        not isinstance(params, list) or not params or not all(isinstance(p, str) for p in params)
    ):
        raise _InvalidRequest("Invalid request: params must be a list of stream names", request_id)
    return str(method), list(params) if isinstance(params, list) else [], request_id
