"""The desk's ccxt exchanges: ccxt.pro when streaming, on the configured URLs, Decimal levels."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt.async_support
import ccxt.pro
from ccxt.async_support.base.ws.order_book_side import Asks

from desk.config.model import VenueConfig
from desk.venues.ccxt_factory import make_exchange

SIM = VenueConfig(
    name="sim-a",
    ccxt_id="binance",
    api_url="http://127.0.0.1:18081/api/v3",
    ws_url="ws://127.0.0.1:18081/ws",
)


def _closed(exchange: Any) -> None:
    asyncio.run(exchange.close())


def test_make_exchange_when_streaming_then_ccxt_pro_class_on_the_ws_url() -> None:
    exchange = make_exchange(SIM, timeout_ms=1000, streaming=True)
    try:
        assert isinstance(exchange, ccxt.pro.binance)
        assert exchange.urls["api"]["ws"]["spot"] == "ws://127.0.0.1:18081/ws"
        assert exchange.urls["api"]["public"] == SIM.api_url
        # The class-level default is untouched: another instance still has Binance's URL.
        assert ccxt.pro.binance().urls["api"]["ws"]["spot"].startswith("wss://stream.binance")
        assert exchange.ws_dial_delay("ws://127.0.0.1:18081/ws/0") == 0
    finally:
        _closed(exchange)


def test_make_exchange_when_no_ws_url_then_ccxt_default_stream_url() -> None:
    real = VenueConfig(name="binance", ccxt_id="binance", api_url=None)
    exchange = make_exchange(real, timeout_ms=1000, streaming=True)
    try:
        assert exchange.urls["api"]["ws"]["spot"] == "wss://stream.binance.com:9443/ws"
    finally:
        _closed(exchange)


def test_make_exchange_when_polling_only_then_plain_async_class() -> None:
    exchange = make_exchange(SIM, timeout_ms=1000)
    try:
        assert isinstance(exchange, ccxt.async_support.binance)
        assert not isinstance(exchange, ccxt.pro.binance)
    finally:
        _closed(exchange)


def test_levels_when_parsed_from_rest_or_stream_then_decimal_from_the_wire_string() -> None:
    exchange = make_exchange(SIM, timeout_ms=1000, streaming=True)
    try:
        # REST snapshot levels (ccxt itself would use safe_float here).
        assert exchange.parse_order_book_bid_ask(["60000.01000000", "0.50000000"]) == [
            Decimal("60000.01"),
            Decimal("0.5"),
        ]
        level = exchange.parse_order_book_bid_ask(["60000.01", "0.5"])
        assert all(type(v) is Decimal for v in level)
        # Stream deltas land in the same book side as exact Decimals, so an update of a
        # snapshot level replaces it instead of adding a float twin next to it.
        asks = Asks([level])
        exchange.handle_delta(asks, ["60000.01000000", "0.75000000"])
        exchange.handle_delta(asks, ["60000.02000000", "1.00000000"])
        assert list(asks) == [
            [Decimal("60000.01"), Decimal("0.75")],
            [Decimal("60000.02"), Decimal("1")],
        ]
        exchange.handle_delta(asks, ["60000.01000000", "0.00000000"])
        assert list(asks) == [[Decimal("60000.02"), Decimal("1")]]
        # Numbers that are not wire strings go through ccxt's own safe_number, as before.
        exchange.handle_delta(asks, [60001, "0.25"])
        assert list(asks)[-1] == [Decimal("60001"), Decimal("0.25")]
        assert all(type(v) is Decimal for v in list(asks)[-1])
    finally:
        _closed(exchange)
