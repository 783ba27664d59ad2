"""Shared helpers: fast port-0 configs, ccxt clients pointed at a venue, admin calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import requests

from exchange_sim.config import SimConfig, SimVenueConfig, default_symbols

HTTP_TIMEOUT_S = 5.0
# Fast updates keep "the book moves" tests short; port 0 means "any free port".
FAST_INTERVAL_MS = 20


def fast_config(names: tuple[str, ...] = ("sim-a", "sim-b")) -> SimConfig:
    """Venues on free ports, seeds 1..n, default symbols, 20 ms updates."""
    return SimConfig(
        venues=tuple(
            SimVenueConfig(
                name=name,
                port=0,
                seed=seed,
                symbols=default_symbols(),
                update_interval_ms=FAST_INTERVAL_MS,
            )
            for seed, name in enumerate(names, start=1)
        )
    )


def _ccxt_config() -> dict[str, Any]:
    return {
        "enableRateLimit": False,
        "timeout": int(HTTP_TIMEOUT_S * 1000),
        "options": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "adjustForTimeDifference": False,
        },
    }


def sync_binance(api_url: str) -> Any:
    """ccxt's real synchronous binance class, pointed at a simulated venue."""
    ex = ccxt.binance(_ccxt_config())
    ex.urls["api"]["public"] = api_url
    ex.urls["api"]["private"] = api_url
    return ex


def async_binance(api_url: str) -> Any:
    """ccxt's real async binance class, pointed at a simulated venue (close it!)."""
    ex = ccxt_async.binance(_ccxt_config())
    ex.urls["api"]["public"] = api_url
    ex.urls["api"]["private"] = api_url
    return ex


def admin_post(base_url: str, path: str, body: Any, expect: int = 200) -> dict[str, Any]:
    """POST JSON to an admin route and return the JSON answer, checking the status."""
    resp = requests.post(f"{base_url}{path}", json=body, timeout=HTTP_TIMEOUT_S)
    assert resp.status_code == expect, resp.text
    result: dict[str, Any] = resp.json()
    return result


def admin_state(base_url: str) -> dict[str, Any]:
    """GET /admin/state of a venue."""
    resp = requests.get(f"{base_url}/admin/state", timeout=HTTP_TIMEOUT_S)
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()
    return result


def wait_until(predicate: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    """Poll ``predicate`` every 10 ms until true or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
