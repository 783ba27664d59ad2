"""A minimal Binance-signed HTTP client for tests, written from Binance's docs.

It shares no code with the simulator's verifier (``exchange_sim.signing``), so a test that
passes through it checks the signing rule itself, not the simulator agreeing with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

import requests

from exchange_sim.config import DEMO_API_KEY, DEMO_API_SECRET

HTTP_TIMEOUT_S = 5.0


class SignedClient:
    """Signed calls against one venue: GET/DELETE params in the query, POST in the body."""

    def __init__(
        self, base_url: str, api_key: str = DEMO_API_KEY, secret: str = DEMO_API_SECRET
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.secret = secret

    def signed_query(self, params: dict[str, Any], timestamp_ms: int | None = None) -> str:
        """``params`` + timestamp, urlencoded, with ``&signature=`` appended."""
        stamped = {**params, "timestamp": timestamp_ms or time.time_ns() // 1_000_000}
        query = urlencode(stamped)
        signature = hmac.new(self.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        return f"{query}&signature={signature}"

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = HTTP_TIMEOUT_S,
        headers: dict[str, str] | None = None,
        timestamp_ms: int | None = None,
    ) -> requests.Response:
        """Send a signed request to ``/api/v3/<path>``; the raw response."""
        query = self.signed_query(params or {}, timestamp_ms)
        sent_headers = {"X-MBX-APIKEY": self.api_key} if headers is None else headers
        url = f"{self.base_url}/api/v3/{path}"
        if method == "POST":
            sent_headers = {**sent_headers, "Content-Type": "application/x-www-form-urlencoded"}
            return requests.post(url, data=query, headers=sent_headers, timeout=timeout_s)
        return requests.request(method, f"{url}?{query}", headers=sent_headers, timeout=timeout_s)

    def ok(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """A call that must succeed: its JSON answer."""
        resp = self.call(method, path, params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def error(
        self, method: str, path: str, params: dict[str, Any] | None = None
    ) -> tuple[int, int, str]:
        """A call that must fail: (HTTP status, Binance code, message)."""
        resp = self.call(method, path, params)
        assert resp.status_code != 200, resp.text
        body = resp.json()
        return resp.status_code, body["code"], body["msg"]


def admin_get(base_url: str, path: str) -> dict[str, Any]:
    """GET ``/admin/<path>`` of a venue."""
    resp = requests.get(f"{base_url}/admin/{path}", timeout=HTTP_TIMEOUT_S)
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()
    return result
