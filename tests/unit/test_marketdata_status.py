"""Feed status board and ccxt-book conversion: state changes reported once, money exact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desk.clock import FakeClock
from desk.marketdata.ccxt_books import levels, venue_book
from desk.marketdata.feed_status import FeedStatus
from tests.unit.builders import T0


def test_set_mode_when_mode_changes_then_reports_a_change_once() -> None:
    clock = FakeClock(T0)
    board = FeedStatus(clock)
    assert board.set_mode("sim-a", "BTC/USDT", "streaming") is True
    clock.advance(5)
    assert board.set_mode("sim-a", "BTC/USDT", "streaming") is False
    assert board.set_mode("sim-a", "BTC/USDT", "polling", "NetworkError: closed") is True
    # Still down with another error: no new state change, but the error is kept current.
    assert board.set_mode("sim-a", "BTC/USDT", "polling", "NetworkError: 503") is False
    status = board.get("sim-a", "BTC/USDT")
    assert status is not None
    assert status.mode == "polling"
    assert status.since == clock.now()
    assert status.error == "NetworkError: 503"


def test_book_seen_when_books_arrive_then_time_and_update_id_are_kept() -> None:
    clock = FakeClock(T0)
    board = FeedStatus(clock)
    board.set_mode("sim-b", "ETH/USDT", "streaming")
    clock.advance(1)
    board.book_seen("sim-b", "ETH/USDT", 42)
    status = board.snapshot()["sim-b"]["ETH/USDT"]
    assert status.last_book_at == clock.now()
    assert status.update_id == 42
    assert status.as_dict() == {
        "venue": "sim-b",
        "symbol": "ETH/USDT",
        "mode": "streaming",
        "since": T0.isoformat(),
        "last_book_at": clock.now().isoformat(),
        "update_id": 42,
        "error": None,
    }


def test_venue_book_when_ccxt_levels_are_decimal_then_top_levels_are_kept_exactly() -> None:
    raw = {
        "nonce": 7,
        "bids": [[Decimal("100.10000000"), Decimal("1.5")], [Decimal("100.00"), Decimal("2")]],
        "asks": [[Decimal("100.20"), Decimal("0.1"), 3]],
    }
    book = venue_book(
        raw, venue="sim-a", symbol="BTC/USDT", depth=1, source="stream", received_at=T0
    )
    assert book.bids == ((Decimal("100.1"), Decimal("1.5")),)
    assert book.asks == ((Decimal("100.2"), Decimal("0.1")),)
    assert book.update_id == 7
    assert book.source == "stream"


def test_levels_when_ccxt_hands_floats_then_refused() -> None:
    with pytest.raises(TypeError, match="not Decimal"):
        levels([[100.1, 1.5]], 5)
