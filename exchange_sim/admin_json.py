"""JSON plumbing shared by the simulator's admin APIs: bodies in, answers or errors out."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

AdminHandler = Callable[[web.Request], Awaitable[dict[str, Any]]]


class AdminError(Exception):
    """An admin request answered ``{"error": reason}`` with HTTP ``status``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, numbers as Decimal/int (never float); {} if empty."""
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text, parse_float=Decimal)
    except ValueError as err:
        raise AdminError(400, f"body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise AdminError(400, "body must be a JSON object")
    return body


def json_handler(handler: AdminHandler) -> Handler:
    """Turn a handler returning a dict into one answering JSON (or a JSON error)."""

    async def wrapped(request: web.Request) -> web.Response:
        try:
            result = await handler(request)
        except AdminError as err:
            return web.json_response({"error": err.reason}, status=err.status)
        return web.json_response(result)

    return wrapped
