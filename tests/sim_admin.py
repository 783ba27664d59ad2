"""A few lines of HTTP against the simulator's documented admin API (tests only)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any


def admin(base_url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST ``body`` (or GET when None) to ``/admin/<path>`` and return the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the loopback simulator of the test
        f"{base_url}/admin/{path}",
        data=data,
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        result: dict[str, Any] = json.loads(answer.read())
        return result


def book_path(symbol: str) -> str:
    return "books/" + urllib.parse.quote(symbol, safe="")
