"""desk.quoting.rfq_service: every QuoteRequestReject path and the quotes it issues.

Books are around 60,000 USDT on three venues (13 BTC a side each). The ``desk`` rig uses the
shipped config with pricing reduced to its margin (no taker fees, no volatility charge,
standard tier), so 1 BTC two-way is the composite 59999 / 60001 -/+ 5 bps of 60000:
59969 / 60031. Fees, volatility, tiers and inventory each have their own tests.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from structlog.testing import capture_logs

from desk.clock import FakeClock
from desk.config.model import DeskConfig
from desk.domain.messages import RfqOutcome, RfqRequest
from desk.domain.rejects import RfqRejectCode
from desk.domain.side import Side
from desk.marketdata.snapshot import MarketSnapshot
from tests.unit.builders import (
    BTC_ASKS,
    BTC_BIDS,
    T0,
    book,
    filled_snapshot,
    rfq,
    with_counterparty,
    with_instrument,
)
from tests.unit.rfq_rig import Rig, quoted, rejected, rig

# --- quotes -------------------------------------------------------------------------------


def test_handle_when_two_way_request_then_quote_with_both_sides_on_the_tick(desk: Rig) -> None:
    request = rfq(account="SUB-7")

    q = quoted(desk.service.handle(request))

    assert (q.bid_px, q.offer_px) == (Decimal(59969), Decimal(60031))
    assert q.qty == Decimal(1)
    assert q.side is None
    assert (q.symbol, q.currency, q.counterparty) == ("BTC/USDT", "USDT", "CLIENT1")
    assert (q.quote_req_id, q.account) == (request.quote_req_id, "SUB-7")
    assert q.quote_id.startswith("Q3-")
    assert q.transact_time == T0
    assert q.indicative is False
    assert q.pricing is not None
    # The book keeps the quote without its pricing inputs (they went to the log and audit).
    assert desk.quote_book.lookup(q.quote_id, "CLIENT1", T0) == replace(q, pricing=None)


def test_handle_when_client_buys_then_offer_only(desk: Rig) -> None:
    q = quoted(desk.service.handle(rfq(side=Side.BUY)))

    assert q.side is Side.BUY
    assert q.offer_px == Decimal(60031)
    assert q.bid_px is None


def test_handle_when_client_sells_then_bid_only(desk: Rig) -> None:
    q = quoted(desk.service.handle(rfq(side=Side.SELL)))

    assert q.side is Side.SELL
    assert q.bid_px == Decimal(59969)
    assert q.offer_px is None


def test_handle_when_cash_order_qty_two_way_then_converted_at_composite_ask_rounded_down(
    desk: Rig,
) -> None:
    # 100,000 USDT / 60,001 = 1.6666388...; the lot is 0.00001, so 1.66663 (never 1.66664).
    q = quoted(desk.service.handle(rfq(order_qty=None, cash_order_qty=Decimal(100_000))))

    assert q.qty == Decimal("1.66663")


def test_handle_when_cash_order_qty_client_buys_then_converted_at_composite_ask(
    desk: Rig,
) -> None:
    q = quoted(
        desk.service.handle(rfq(side=Side.BUY, order_qty=None, cash_order_qty=Decimal(100_000)))
    )

    assert q.qty == Decimal("1.66663")  # 100,000 / 60,001


def test_handle_when_cash_order_qty_client_sells_then_converted_at_composite_bid(
    desk: Rig,
) -> None:
    q = quoted(
        desk.service.handle(rfq(side=Side.SELL, order_qty=None, cash_order_qty=Decimal(100_000)))
    )

    assert q.qty == Decimal("1.66669")  # 100,000 / 59,999 = 1.6666944...


def test_handle_when_order_qty_off_lot_then_rounded_down_to_lot(desk: Rig) -> None:
    q = quoted(desk.service.handle(rfq(order_qty=Decimal("0.123456789"))))

    assert q.qty == Decimal("0.12345")


def test_handle_when_quote_issued_then_valid_until_truncated_to_milliseconds(desk: Rig) -> None:
    q = quoted(desk.service.handle(rfq()))

    # T0 is 12:00:00.123456 and the TTL 5000 ms.
    assert q.valid_until == datetime(2026, 1, 5, 12, 0, 5, 123000, tzinfo=UTC)


def test_handle_when_indicative_then_quote_marked_indicative(desk: Rig) -> None:
    q = quoted(desk.service.handle(rfq(indicative=True)))

    assert q.indicative is True


def _answered(desk: Rig, request: RfqRequest) -> RfqOutcome:
    """``request`` handled, then its answer logged as the gateway does once it is sent."""
    outcome = desk.service.handle(request)
    desk.service.answered(request, outcome)
    return outcome


def test_handle_logs_nothing_until_the_answer_is_sent(desk: Rig) -> None:
    with capture_logs() as logs:
        desk.service.handle(rfq())
        desk.service.handle(rfq(symbol="DOGE/USDT"))
    assert logs == []


def test_handle_when_quote_sent_then_logged_with_composite_mid_and_venues(desk: Rig) -> None:
    with capture_logs() as logs:
        q = quoted(_answered(desk, rfq(side=Side.BUY)))

    # One event per RFQ: quote.sent carries the request's terms too.
    [sent] = [e for e in logs if str(e["event"]).startswith(("rfq.", "quote."))]
    assert sent["event"] == "quote.sent"
    assert sent["order_qty"] == "1"
    assert sent["cash_order_qty"] is None
    assert sent["side"] is Side.BUY
    assert sent["symbol"] == "BTC/USDT"
    assert sent["quote_id"] == q.quote_id
    assert sent["counterparty"] == "CLIENT1"
    assert sent["quote_req_id"] == q.quote_req_id
    assert sent["composite_mid"] == "60000"
    assert sent["venues_used"] == ["sim-a", "sim-b", "sim-c"]
    assert sent["venues_excluded"] == {}
    assert sent["offer_px"] == "60031"
    assert sent["composite_ask"] == "60001"
    assert sent["hedge_ask"] == "60001"
    assert sent["margin_bps"] == "5"
    assert sent["sigma_bps"] == "0"
    assert sent["skew_bps"] == "0"
    assert sent["inventory"] == "0"
    assert sent["tier"] == "standard"
    assert sent["bid_px"] is None
    assert sent["valid_until"] == "2026-01-05T12:00:05.123+00:00"
    assert sent["log_level"] == "info"


def test_handle_when_one_venue_stale_then_quote_logged_with_it_excluded(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    snapshot = filled_snapshot(clock.monotonic(), venues=("sim-a", "sim-b"))
    snapshot.update(book("sim-c", bids=BTC_BIDS, asks=BTC_ASKS), clock.monotonic() - 5)
    desk = rig(plain_config, clock, snapshot=snapshot)

    with capture_logs() as logs:
        quoted(_answered(desk, rfq()))

    [sent] = [e for e in logs if e["event"] == "quote.sent"]
    assert sent["venues_used"] == ["sim-a", "sim-b"]
    assert sent["venues_excluded"] == {"sim-c": "stale 5.0s"}


# --- rejects ------------------------------------------------------------------------------


def test_handle_when_rejected_then_logged_with_code_and_nothing_added_to_quote_book(
    desk: Rig,
) -> None:
    with capture_logs() as logs:
        rejected(_answered(desk, rfq(symbol="DOGE/USDT")), RfqRejectCode.UNKNOWN_SYMBOL, 1)

    [event] = [e for e in logs if e["event"] == "rfq.rejected"]
    assert event["code"] == "UNKNOWN_SYMBOL"
    assert event["reason"] == 1
    assert event["text"] == "UNKNOWN_SYMBOL: DOGE/USDT is not quoted"
    assert not [e for e in logs if e["event"] == "quote.sent"]
    assert len(desk.quote_book) == 0


def test_handle_when_burst_used_up_then_rate_limited_until_tokens_refill(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    config = with_counterparty(shipped_config, "CLIENT1", rfq_rate_per_s=Decimal(1), rfq_burst=2)
    desk = rig(config, clock)

    quoted(desk.service.handle(rfq()))
    quoted(desk.service.handle(rfq()))
    rejected(desk.service.handle(rfq()), RfqRejectCode.RATE_LIMITED, 99)
    quoted(desk.service.handle(rfq(counterparty="CLIENT2")))  # per counterparty

    clock.advance(1.0)
    quoted(desk.service.handle(rfq()))


def test_handle_when_quote_req_id_repeated_same_day_then_duplicate(desk: Rig) -> None:
    quoted(desk.service.handle(rfq(quote_req_id="R-1")))

    outcome = desk.service.handle(rfq(quote_req_id="R-1", received_at=T0 + timedelta(hours=11)))

    rejected(outcome, RfqRejectCode.DUPLICATE_QUOTEREQID, 99)


def test_handle_when_quote_req_id_used_by_other_counterparty_then_quoted(desk: Rig) -> None:
    quoted(desk.service.handle(rfq(quote_req_id="R-1")))

    quoted(desk.service.handle(rfq(quote_req_id="R-1", counterparty="CLIENT2")))


def test_handle_when_quote_req_id_repeated_next_utc_day_then_quoted(desk: Rig) -> None:
    quoted(desk.service.handle(rfq(quote_req_id="R-1")))
    next_day = datetime(2026, 1, 6, 0, 0, tzinfo=UTC)

    quoted(desk.service.handle(rfq(quote_req_id="R-1", received_at=next_day)))


def test_handle_when_late_previous_day_request_arrives_after_roll_then_new_day_ids_still_used(
    desk: Rig,
) -> None:
    # Sessions run on their own threads, so received_at is not ordered across counterparties.
    just_after = datetime(2026, 1, 6, 0, 0, 0, 500000, tzinfo=UTC)
    just_before = datetime(2026, 1, 5, 23, 59, 59, 900000, tzinfo=UTC)
    quoted(desk.service.handle(rfq(quote_req_id="R-new", received_at=just_after)))
    quoted(desk.service.handle(rfq(counterparty="CLIENT2", received_at=just_before)))

    outcome = desk.service.handle(
        rfq(quote_req_id="R-new", received_at=just_after + timedelta(seconds=1))
    )

    rejected(outcome, RfqRejectCode.DUPLICATE_QUOTEREQID, 99)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"quote_req_id": "x" * 65}, id="quote_req_id-65-chars"),
        pytest.param({"streaming": True}, id="streaming"),
        pytest.param({"cash_order_qty": Decimal(60_000)}, id="both-qty-and-cash"),
        pytest.param({"order_qty": None}, id="neither-qty-nor-cash"),
        pytest.param({"order_qty": Decimal(0)}, id="qty-zero"),
        pytest.param({"order_qty": Decimal(-1)}, id="qty-negative"),
        pytest.param({"order_qty": None, "cash_order_qty": Decimal(-5)}, id="cash-negative"),
        pytest.param({"order_qty": Decimal(10) ** 20}, id="qty-21-integer-digits"),
        pytest.param({"order_qty": Decimal("1E-19")}, id="qty-19-decimals"),
    ],
)
def test_handle_when_request_malformed_then_bad_request(desk: Rig, changes: dict[str, Any]) -> None:
    rejected(desk.service.handle(rfq(**changes)), RfqRejectCode.BAD_REQUEST, 99)


def test_handle_when_quote_req_id_exactly_64_chars_then_quoted(desk: Rig) -> None:
    quoted(desk.service.handle(rfq(quote_req_id="x" * 64)))


def test_handle_when_symbol_unknown_then_unknown_symbol(desk: Rig) -> None:
    rejected(desk.service.handle(rfq(symbol="DOGE/USDT")), RfqRejectCode.UNKNOWN_SYMBOL, 1)


def test_handle_when_instrument_disabled_then_unknown_symbol(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(with_instrument(shipped_config, "BTC/USDT", enabled=False), clock)

    rejected(desk.service.handle(rfq()), RfqRejectCode.UNKNOWN_SYMBOL, 1)
    quoted(desk.service.handle(rfq(symbol="ETH/USDT")))


def test_handle_when_symbol_not_allowed_for_counterparty_then_not_authorized(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    config = with_counterparty(shipped_config, "CLIENT1", allowed_symbols=frozenset({"ETH/USDT"}))
    desk = rig(config, clock)

    rejected(desk.service.handle(rfq()), RfqRejectCode.NOT_AUTHORIZED, 6)
    quoted(desk.service.handle(rfq(symbol="ETH/USDT")))
    quoted(desk.service.handle(rfq(counterparty="CLIENT2")))


def test_handle_when_desk_halted_then_halted_for_everyone(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(replace(shipped_config, halted=True), clock)

    rejected(desk.service.handle(rfq()), RfqRejectCode.HALTED, 2)
    rejected(
        desk.service.handle(rfq(counterparty="CLIENT2", symbol="ETH/USDT")), RfqRejectCode.HALTED, 2
    )


def test_handle_when_instrument_halted_then_halted_for_that_symbol_only(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(with_instrument(shipped_config, "BTC/USDT", halted=True), clock)

    rejected(desk.service.handle(rfq()), RfqRejectCode.HALTED, 2)
    quoted(desk.service.handle(rfq(symbol="ETH/USDT")))


def test_handle_when_counterparty_halted_then_halted_for_that_counterparty_only(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(with_counterparty(shipped_config, "CLIENT2", halted=True), clock)

    rejected(desk.service.handle(rfq(counterparty="CLIENT2")), RfqRejectCode.HALTED, 2)
    quoted(desk.service.handle(rfq()))


def test_handle_when_size_below_min_then_size_below_min(desk: Rig) -> None:
    outcome = rejected(
        desk.service.handle(rfq(order_qty=Decimal("0.00005"))), RfqRejectCode.SIZE_BELOW_MIN, 3
    )

    assert outcome.text == "SIZE_BELOW_MIN: 0.00005 BTC is below min 0.0001 BTC"


def test_handle_when_size_rounds_below_min_then_text_does_not_contradict_itself(
    desk: Rig,
) -> None:
    # 0.000099 rounds down to 0.00009 (below the 0.0001 minimum); the text must not state a
    # size that is not below the minimum, such as "0.0001 BTC is below min 0.0001 BTC".
    outcome = rejected(
        desk.service.handle(rfq(order_qty=Decimal("0.000099"))), RfqRejectCode.SIZE_BELOW_MIN, 3
    )

    match = re.match(r"SIZE_BELOW_MIN: (\S+) BTC is below min 0.0001 BTC$", outcome.text)
    assert match is not None, outcome.text
    assert Decimal(match.group(1)) < Decimal("0.0001"), outcome.text


def test_handle_when_size_above_max_then_size_above_max(desk: Rig) -> None:
    outcome = rejected(
        desk.service.handle(rfq(order_qty=Decimal(26))), RfqRejectCode.SIZE_ABOVE_MAX, 3
    )

    assert outcome.text == "SIZE_ABOVE_MAX: 26 BTC exceeds max 25 BTC"


def test_handle_when_cash_qty_converts_above_max_then_size_above_max(desk: Rig) -> None:
    outcome = desk.service.handle(rfq(order_qty=None, cash_order_qty=Decimal(3_000_000)))

    rejected(outcome, RfqRejectCode.SIZE_ABOVE_MAX, 3)


def test_handle_when_size_beyond_hedgeable_depth_then_size_above_max(
    plain_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(plain_config, clock, snapshot=filled_snapshot(clock.monotonic(), ("sim-a",)))

    outcome = rejected(
        desk.service.handle(rfq(order_qty=Decimal(20))), RfqRejectCode.SIZE_ABOVE_MAX, 3
    )

    assert outcome.text == (
        "SIZE_ABOVE_MAX: 20 BTC exceeds the 13 BTC hedgeable within 50 bps of the best price"
    )


def test_handle_when_notional_above_counterparty_max_then_notional_limit(desk: Rig) -> None:
    # CLIENT2 may trade at most 1,000,000 USDT; 20 BTC is 1,200,000.
    outcome = desk.service.handle(rfq(counterparty="CLIENT2", order_qty=Decimal(20)))

    assert (
        rejected(outcome, RfqRejectCode.NOTIONAL_LIMIT, 3).text
        == "NOTIONAL_LIMIT: notional 1200000 USDT exceeds max 1000000 USDT"
    )
    quoted(desk.service.handle(rfq(order_qty=Decimal(20))))  # CLIENT1's max is 2,000,000


def test_handle_when_notional_above_instrument_max_then_notional_limit(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(with_instrument(shipped_config, "BTC/USDT", max_notional=Decimal(100_000)), clock)

    rejected(desk.service.handle(rfq(order_qty=Decimal(2))), RfqRejectCode.NOTIONAL_LIMIT, 3)


def test_handle_when_credit_line_would_be_exceeded_then_credit_limit(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    # CLIENT2's line is 5,000,000 a day; 4,950,000 is used and 1 BTC is 60,000 more.
    desk = rig(shipped_config, clock, credit_used={"CLIENT2": Decimal(4_950_000)})

    outcome = desk.service.handle(rfq(counterparty="CLIENT2"))

    rejected(outcome, RfqRejectCode.CREDIT_LIMIT, 11)
    quoted(desk.service.handle(rfq(counterparty="CLIENT2", order_qty=Decimal("0.5"))))


def test_handle_when_indicative_over_credit_line_then_still_quoted(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(shipped_config, clock, credit_used={"CLIENT2": Decimal(5_000_000)})

    q = quoted(desk.service.handle(rfq(counterparty="CLIENT2", indicative=True)))

    assert q.indicative is True


def test_handle_when_books_stale_by_monotonic_clock_then_no_market(desk: Rig) -> None:
    quoted(desk.service.handle(rfq()))
    desk.clock.advance(2.5)  # stale_after_ms is 2000

    outcome = rejected(desk.service.handle(rfq()), RfqRejectCode.NO_MARKET, 8)

    assert outcome.text == (
        "NO_MARKET: 0 healthy venue(s) for BTC/USDT, need 1 "
        "(sim-a stale 2.5s, sim-b stale 2.5s, sim-c stale 2.5s)"
    )


def test_handle_when_no_books_at_all_then_no_market(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    desk = rig(shipped_config, clock, snapshot=MarketSnapshot())

    rejected(desk.service.handle(rfq()), RfqRejectCode.NO_MARKET, 8)


def test_handle_when_fewer_healthy_venues_than_min_venues_then_no_market(
    shipped_config: DeskConfig, clock: FakeClock
) -> None:
    config = replace(shipped_config, market_data=replace(shipped_config.market_data, min_venues=3))
    desk = rig(config, clock, snapshot=filled_snapshot(clock.monotonic(), ("sim-a", "sim-b")))

    rejected(desk.service.handle(rfq()), RfqRejectCode.NO_MARKET, 8)
