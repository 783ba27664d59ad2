"""A few lines of HTTP against the simulator's documented admin API (tests only)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
import urllib.request
from typing import Any


def admin(base_url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST ``body`` (or GET when None) to ``/admin/<path>`` and return the JSON answer.

    Requests that set an absolute state are retried once if the connection drops before an
    answer (seen rarely on a loaded machine); a relative ``shift_bps`` never is.
    """
    retry = body is None or "shift_bps" not in body
    try:
        return _call(base_url, path, body)
    except (http.client.RemoteDisconnected, ConnectionResetError):
        if not retry:
            raise
        time.sleep(0.2)
        return _call(base_url, path, body)


def _call(base_url: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
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
