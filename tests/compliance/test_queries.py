"""Every compliance query on the scenario, on PostgreSQL and SQLite: exact rows, in order.

The same expected rows on both backends: exact decimals (0.1 + 0.2, 1e-18 and
7500.249999999999999999 are what a float gets wrong), UTC times and day boundaries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from desk.compliance.reports import REPORTS
from desk.compliance.runner import ReportError, run_report
from tests.compliance.scenario import (
    BATCH_ALGO,
    BATCH_OPENED,
    HEDGE_ORDER_ID,
    ORDER_SENT,
    PRICING_JSON,
    WINDOW,
    at,
)

D = Decimal


def rows(url: str, name: str, **values: Any) -> list[tuple[Any, ...]]:
    """The report's rows as tuples in column order."""
    return [tuple(row.values()) for row in run_report(url, REPORTS[name], values)]


def test_trade_log_lists_the_trades_of_the_window_in_time_order(seeded_url: str) -> None:
    assert rows(seeded_url, "trade-log", **WINDOW) == [
        (1, at(5, 12, 0, 0, 123456), "ACME", "BTC/USDT", "BUY", D("0.1"), D("60000.5"),
         D("6000.05"), "Q-A1", "A-1", "1-E1"),
        (2, at(5, 13, 0, 1), "ACME", "BTC/USDT", "SELL", D("0.2"), D("59999.75"),
         D("11999.95"), "Q-A2", "A-2", "1-E2"),
        (3, at(6, 0, 0, 0, 500000), "BETA", "ETH/USDT", "BUY", D("2.5"), D("3000.1"),
         D("7500.25"), "Q-B1", "B-1", "1-E3"),
        (4, at(6, 10), "BETA", "ETH/USDT", "BUY", D("0.000000000000000001"), D("3000"),
         D("0.000000000000003"), "Q-B2", "B-2", "1-E4"),
        (5, at(6, 11), "BETA", "BTC/USDT", "SELL", D("1"), D("7500.249999999999999999"),
         D("7500.249999999999999999"), "Q-B4", "B-3", "1-E5"),
    ]  # fmt: skip


def test_trade_log_of_one_counterparty(seeded_url: str) -> None:
    found = rows(seeded_url, "trade-log", **WINDOW, counterparty="ACME")
    assert [row[:3] for row in found] == [
        (1, at(5, 12, 0, 0, 123456), "ACME"),
        (2, at(5, 13, 0, 1), "ACME"),
    ]


def test_rfq_outcomes_count_per_counterparty_with_rejects_by_reason(seeded_url: str) -> None:
    # ACME: 6 requests in the window (R-A0 is before it), 3 quotes, 3 rejects, orders A-1 and
    # A-2 filled, A-4 rejected (A-6 is on the excluded end); 2 fills / 3 quotes.
    assert rows(seeded_url, "rfq-outcomes", **WINDOW) == [
        ("ACME", None, 6, 3, 3, 3, 2, 1, D("0.6667")),
        ("ACME", "NO_MARKET", None, None, 2, None, None, None, None),
        ("ACME", "SIZE_ABOVE_MAX", None, None, 1, None, None, None, None),
        ("BETA", None, 4, 4, 0, 3, 3, 0, D("0.75")),
    ]


def test_rfq_outcomes_cut_at_the_window_start(seeded_url: str) -> None:
    # BETA's first request (2026-01-05 23:59:59.999999) is out; its quote (00:00:00) is in.
    start = datetime(2026, 1, 6, tzinfo=UTC)
    assert rows(seeded_url, "rfq-outcomes", **{**WINDOW, "from": start}, counterparty="BETA") == [
        ("BETA", None, 3, 4, 0, 3, 3, 0, D("0.75")),
    ]


def test_daily_volume_per_utc_day_counterparty_and_instrument(seeded_url: str) -> None:
    assert rows(seeded_url, "daily-volume", **WINDOW) == [
        (date(2026, 1, 5), "ACME", "BTC/USDT", "USDT", 2, D("0.3"), D("18000")),
        (date(2026, 1, 6), "BETA", "BTC/USDT", "USDT", 1, D("1"), D("7500.249999999999999999")),
        (date(2026, 1, 6), "BETA", "ETH/USDT", "USDT", 2, D("2.500000000000000001"),
         D("7500.250000000000003")),
    ]  # fmt: skip


def test_exposure_before_settlement_is_all_unsettled(seeded_url: str) -> None:
    # As of 2026-01-06 10:30: BETA's BTC sale (11:00) is not booked yet; nothing has settled.
    as_of = {"to": at(6, 10, 30)}
    assert rows(seeded_url, "exposure", **as_of) == [
        ("ACME", "ASSET", "BTC", D("-0.1"), D("-0.1")),
        ("ACME", "ASSET", "USDT", D("5999.9"), D("5999.9")),
        ("ACME", "INSTRUMENT", "BTC/USDT", D("-0.1"), None),
        ("BETA", "ASSET", "ETH", D("2.500000000000000001"), D("2.500000000000000001")),
        ("BETA", "ASSET", "USDT", D("-7500.250000000000003"), D("-7500.250000000000003")),
        ("BETA", "INSTRUMENT", "ETH/USDT", D("2.500000000000000001"), None),
    ]


def test_exposure_counts_obligations_as_settled_from_their_settlement_date(
    seeded_url: str,
) -> None:
    # As of 2026-01-07 00:00: ACME's obligations (due 2026-01-07) are settled, BETA's are not.
    assert rows(seeded_url, "exposure", to=at(7, 0)) == [
        ("ACME", "ASSET", "BTC", D("-0.1"), D("0")),
        ("ACME", "ASSET", "USDT", D("5999.9"), D("0")),
        ("ACME", "INSTRUMENT", "BTC/USDT", D("-0.1"), None),
        ("BETA", "ASSET", "BTC", D("-1"), D("-1")),
        ("BETA", "ASSET", "ETH", D("2.500000000000000001"), D("2.500000000000000001")),
        ("BETA", "ASSET", "USDT", D("-0.000000000000003001"), D("-0.000000000000003001")),
        ("BETA", "INSTRUMENT", "BTC/USDT", D("-1"), None),
        ("BETA", "INSTRUMENT", "ETH/USDT", D("2.500000000000000001"), None),
    ]


def test_exposure_of_one_counterparty(seeded_url: str) -> None:
    assert rows(seeded_url, "exposure", to=at(7, 0), counterparty="ACME") == [
        ("ACME", "ASSET", "BTC", D("-0.1"), D("0")),
        ("ACME", "ASSET", "USDT", D("5999.9"), D("0")),
        ("ACME", "INSTRUMENT", "BTC/USDT", D("-0.1"), None),
    ]


def test_large_trades_compare_the_threshold_exactly(seeded_url: str) -> None:
    # 7500.25 is in (equal), 7500.249999999999999999 is out (a float would call them equal).
    assert rows(seeded_url, "large-trades", **WINDOW, min_notional=D("7500.25")) == [
        (2, at(5, 13, 0, 1), "ACME", "BTC/USDT", "SELL", D("0.2"), D("59999.75"),
         D("11999.95"), "USDT", "Q-A2", "A-2", "1-E2"),
        (3, at(6, 0, 0, 0, 500000), "BETA", "ETH/USDT", "BUY", D("2.5"), D("3000.1"),
         D("7500.25"), "USDT", "Q-B1", "B-1", "1-E3"),
    ]  # fmt: skip


def test_large_trades_of_one_counterparty(seeded_url: str) -> None:
    found = rows(seeded_url, "large-trades", **WINDOW, min_notional=D("7500"), counterparty="BETA")
    assert [row[0] for row in found] == [3, 5]


def test_trade_life_follows_a_trade_from_rfq_to_its_hedge_fills(seeded_url: str) -> None:
    executed = at(5, 12, 0, 0, 123456)
    assert rows(seeded_url, "trade-life", trade_id=1) == [
        (at(5, 11, 59, 58, 1), "RFQ", "R-A1", "ACME", None, None, None, None, None, None),
        (at(5, 11, 59, 58, 500000), "QUOTE", "Q-A1", "ACME", None, None, None, None, None,
         PRICING_JSON),
        (executed, "ORDER", "A-1", "ACME", "BUY", D("0.1"), D("60000.5"), None, "FILLED", "1-O1"),
        (executed, "FILL", "1-E1", "ACME", "BUY", D("0.1"), D("60000.5"), None, None,
         "settl_date 2026-01-07"),
        (executed, "HEDGE_INTENT", "1", None, "BUY", D("0.1"), None, None, "DONE", None),
        (BATCH_OPENED, "HEDGE_BATCH", "1", None, "SELL", D("0.1"), D("60009.6"), D("0.006"),
         "DONE", BATCH_ALGO),
        (ORDER_SENT, "HEDGE_ORDER", HEDGE_ORDER_ID, "binance", "SELL", D("0.1"), None, None,
         "FILLED", "X-1"),
        (at(5, 13, 0, 3), "EXCHANGE_FILL", "exchange:binance:T100", "binance", "SELL",
         D("0.06"), D("60010"), D("0.0036"), None, "USDT"),
        (at(5, 13, 0, 4), "EXCHANGE_FILL", "exchange:binance:T101", "binance", "SELL",
         D("0.04"), D("60009"), D("0.0024"), None, "USDT"),
    ]  # fmt: skip


def test_trade_life_of_an_unhedged_trade_ends_at_its_pending_intent(seeded_url: str) -> None:
    executed = at(6, 0, 0, 0, 500000)
    assert rows(seeded_url, "trade-life", trade_id=3) == [
        (at(5, 23, 59, 59, 999999), "RFQ", "R-B1", "BETA", None, None, None, None, None, None),
        (at(6, 0), "QUOTE", "Q-B1", "BETA", None, None, None, None, None, None),
        (executed, "ORDER", "B-1", "BETA", "BUY", D("2.5"), D("3000.1"), None, "FILLED", "1-O3"),
        (executed, "FILL", "1-E3", "BETA", "BUY", D("2.5"), D("3000.1"), None, None,
         "settl_date 2026-01-08"),
        (executed, "HEDGE_INTENT", "3", None, "BUY", D("2.5"), None, None, "PENDING", None),
    ]  # fmt: skip


def test_trade_life_of_an_unknown_trade_is_empty(seeded_url: str) -> None:
    assert rows(seeded_url, "trade-life", trade_id=999) == []


def test_a_report_without_a_required_value_is_refused(seeded_url: str) -> None:
    with pytest.raises(ReportError, match="trade-life needs trade_id"):
        rows(seeded_url, "trade-life")
