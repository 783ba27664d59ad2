"""Binance's request signing for ``SIGNED`` endpoints: API key header, timestamp, HMAC.

A signed request carries the key in the ``X-MBX-APIKEY`` header and ``timestamp`` (epoch
ms, optionally ``recvWindow``) and ``signature`` among its parameters. The signature is
the hex HMAC-SHA256, keyed with the secret, of Binance's "totalParams": the raw query
string followed directly by the raw request body, without the ``signature`` parameter.
ccxt puts every parameter in the query string for GET/DELETE and in a form-encoded body
for POST, so both places are read. The raw (still percent-encoded) text is what gets
signed, exactly as the client sent it.

Failures answer like Binance: a missing or malformed key -2014 and an unknown key -2015
(HTTP 401), a bad signature -1022, a missing parameter -1102, a stale timestamp -1021
(HTTP 400).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web

from exchange_sim.binance_api import BinanceError

API_KEY_HEADER = "X-MBX-APIKEY"
# Binance's defaults and limits for recvWindow, and how far ahead of the server clock a
# client's timestamp may be.
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
_MAX_CLOCK_AHEAD_MS = 1000


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """The one API key pair a venue accepts."""

    api_key: str
    secret: str


def sign(secret: str, total_params: str) -> str:
    """Binance's HMAC-SHA256 signature of ``total_params`` (hex, lower case)."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def _mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _without_signature(raw: str) -> tuple[str, list[str]]:
    """``raw`` with its ``signature=`` parts removed, and the signatures found."""
    kept: list[str] = []
    signatures: list[str] = []
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signatures.append(part.removeprefix("signature="))
        else:
            kept.append(part)
    return "&".join(kept), signatures


def _parameters(raw_query: str, raw_body: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for raw in (raw_query, raw_body):
        for key, value in parse_qsl(raw, keep_blank_values=True):
            if key in params:
                raise BinanceError(-1101, "Duplicate values for a parameter detected.")
            params[key] = value
    return params


class RequestVerifier:
    """Checks a venue's signed requests against its :class:`ApiCredentials`."""

    def __init__(self, credentials: ApiCredentials, now_ms: Callable[[], int]) -> None:
        """``now_ms`` is the venue's clock (epoch ms) for the timestamp window."""
        self._credentials = credentials
        self._now_ms = now_ms

    async def verified_params(self, request: web.Request) -> dict[str, str]:
        """The request's parameters once key, timestamp and signature check out.

        ``signature`` is not among them; every other parameter (``timestamp`` and
        ``recvWindow`` included) is, as the string the client sent.
        Raises :class:`BinanceError` with Binance's code otherwise.
        """
        key = request.headers.get(API_KEY_HEADER)
        if not key:
            raise BinanceError(-2014, "API-key format invalid.", status=401)
        if not hmac.compare_digest(key.encode(), self._credentials.api_key.encode()):
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        # raw_path keeps the percent-encoding the client signed; query_string would not.
        raw_query = request.raw_path.partition("?")[2]
        raw_body = await request.text() if request.can_read_body else ""
        query_part, query_sigs = _without_signature(raw_query)
        body_part, body_sigs = _without_signature(raw_body)
        signatures = query_sigs + body_sigs
        params = _parameters(query_part, body_part)
        self._check_timestamp(params)
        if len(signatures) != 1 or not signatures[0]:
            raise _mandatory("signature")
        expected = sign(self._credentials.secret, query_part + body_part)
        if not hmac.compare_digest(expected.encode(), signatures[0].lower().encode()):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        return params

    def _check_timestamp(self, params: dict[str, str]) -> None:
        raw = params.get("timestamp", "")
        if not raw.isdigit():
            raise _mandatory("timestamp")
        window_raw = params.get("recvWindow")
        window = DEFAULT_RECV_WINDOW_MS
        if window_raw is not None:
            if not window_raw.isdigit():
                raise _mandatory("recvWindow")
            window = int(window_raw)
            if window > MAX_RECV_WINDOW_MS:
                raise BinanceError(-1131, "recvWindow must be less than 60000")
        now = self._now_ms()
        if not now - window <= int(raw) <= now + _MAX_CLOCK_AHEAD_MS:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
