"""Every QuoteRequestReject reason this desk uses, over a real FIX session.

After each reject the same session must still quote: a reject never costs a counterparty its
session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import next_id, quote, rfq
from tests.fixclient import FixClient, FixMessage
from tests.fixtures.desk import StartDesk
from tests.sim_admin import admin


def assert_rejected(answer: FixMessage, reason: str, code: str) -> None:
    assert answer.msg_type == "AG", f"expected QuoteRequestReject, got {answer}"
    assert answer[658] == reason, answer
    assert answer[58].startswith(f"{code}: "), answer
    assert answer[146] == "1"
    assert 55 in answer


def still_quotes(client: FixClient) -> None:
    assert quote(client, "BTC/USDT", "0.1").msg_type == "S"


@pytest.fixture
def client(start_desk: StartDesk) -> Iterator[FixClient]:
    desk = start_desk()
    c = desk.logged_on("CLIENT1")
    yield c
    c.close()


@pytest.mark.parametrize(
    ("symbol", "qty", "cash", "reason", "code"),
    [
        ("DOGE/USDT", "1", None, "1", "UNKNOWN_SYMBOL"),
        ("BTC/USDT", "26", None, "3", "SIZE_ABOVE_MAX"),
        ("BTC/USDT", "0.00005", None, "3", "SIZE_BELOW_MIN"),
        ("BTC/USDT", None, "3000000", "3", "SIZE_ABOVE_MAX"),
        ("BTC/USDT", "1", "60000", "99", "BAD_REQUEST"),
        ("BTC/USDT", None, None, "99", "BAD_REQUEST"),
        ("BTC/USDT", "-1", None, "99", "BAD_REQUEST"),
    ],
)
def test_quote_request_when_invalid_then_rejected_with_code(
    client: FixClient, symbol: str, qty: str | None, cash: str | None, reason: str, code: str
) -> None:
    _, answer = rfq(client, symbol, qty, cash=cash)
    assert_rejected(answer, reason, code)
    still_quotes(client)


def test_quote_request_when_notional_above_counterparty_max_then_notional_limit(
    start_desk: StartDesk,
) -> None:
    desk = start_desk()
    # CLIENT2 may trade at most 1,000,000 USDT per trade; 20 BTC is about 1,200,000.
    with desk.logged_on("CLIENT2") as c2:
        _, answer = rfq(c2, "BTC/USDT", "20")
        assert_rejected(answer, "3", "NOTIONAL_LIMIT")
        assert quote(c2, "BTC/USDT", "10").msg_type == "S"


def test_quote_request_when_quote_req_id_repeats_then_duplicate(client: FixClient) -> None:
    req_id = next_id("dup")
    _, first = rfq(client, quote_req_id=req_id)
    assert first.msg_type == "S"
    _, second = rfq(client, quote_req_id=req_id)
    assert_rejected(second, "99", "DUPLICATE_QUOTEREQID")
    still_quotes(client)


def test_quote_request_when_quote_req_id_too_long_then_bad_request(client: FixClient) -> None:
    _, answer = rfq(client, quote_req_id="x" * 65)
    assert_rejected(answer, "99", "BAD_REQUEST")


def test_quote_request_when_streaming_then_bad_request_for_now(client: FixClient) -> None:
    _, answer = rfq(client, extra_body=[(263, "1")])
    assert_rejected(answer, "99", "BAD_REQUEST")
    still_quotes(client)


def test_quote_request_when_two_related_symbols_then_bad_request(client: FixClient) -> None:
    req_id = next_id("multi")
    client.send(
        "R", [(131, req_id), (146, "2"), (55, "BTC/USDT"), (38, "1"), (55, "ETH/USDT"), (38, "1")]
    )
    answer = client.recv()
    assert_rejected(answer, "99", "BAD_REQUEST")
    still_quotes(client)


def test_quote_request_when_symbol_not_permitted_then_not_authorized(start_desk: StartDesk) -> None:
    desk = start_desk(client2='allowed_symbols = ["ETH/USDT"]')
    with desk.logged_on("CLIENT2") as c2:
        _, answer = rfq(c2, "BTC/USDT", "0.1")
        assert_rejected(answer, "6", "NOT_AUTHORIZED")
        assert quote(c2, "ETH/USDT", "1").msg_type == "S"


def test_quote_request_when_instrument_halted_then_halted(start_desk: StartDesk) -> None:
    desk = start_desk(btc="halted = true")
    with desk.logged_on() as c:
        _, answer = rfq(c, "BTC/USDT", "0.1")
        assert_rejected(answer, "2", "HALTED")
        assert quote(c, "ETH/USDT", "1").msg_type == "S"


def test_quote_request_when_instrument_disabled_then_unknown_symbol(start_desk: StartDesk) -> None:
    desk = start_desk(btc="enabled = false")
    with desk.logged_on() as c:
        _, answer = rfq(c, "BTC/USDT", "0.1")
        assert_rejected(answer, "1", "UNKNOWN_SYMBOL")


def test_quote_request_when_credit_line_exhausted_then_credit_limit(start_desk: StartDesk) -> None:
    desk = start_desk(client2_credit_limit="20000")
    with desk.logged_on("CLIENT2") as c2:
        _, answer = rfq(c2, "BTC/USDT", "0.5")
        assert_rejected(answer, "11", "CREDIT_LIMIT")
        # Indicative quotes commit no credit, and a size within the line still quotes.
        assert quote(c2, "BTC/USDT", "0.5", quote_type="0").msg_type == "S"
        assert quote(c2, "BTC/USDT", "0.1").msg_type == "S"


def test_quote_request_when_rate_exceeded_then_rate_limited(start_desk: StartDesk) -> None:
    desk = start_desk(client2_rfq_rate="1", client2_rfq_burst=5)
    with desk.logged_on("CLIENT2") as c2:
        answers = [rfq(c2, "ETH/USDT", "1")[1] for _ in range(8)]
        assert [a.msg_type for a in answers[:5]] == ["S"] * 5
        for answer in answers[5:]:
            assert_rejected(answer, "99", "RATE_LIMITED")
        # CLIENT1 has its own bucket.
        with desk.logged_on("CLIENT1") as c1:
            still_quotes(c1)
        time.sleep(1.1)  # one token back
        assert quote(c2, "ETH/USDT", "1").msg_type == "S"


def test_quote_request_when_no_venue_is_fresh_then_no_market(start_desk: StartDesk) -> None:
    desk = start_desk(stale_after_ms=300)
    sim = desk.simulator
    try:
        for venue in ("sim-a", "sim-b", "sim-c"):
            admin(sim.base_url(venue), "freeze", {"frozen": True})
        time.sleep(0.6)
        with desk.logged_on() as c:
            _, answer = rfq(c, "BTC/USDT", "0.1")
            assert_rejected(answer, "8", "NO_MARKET")
            assert "stale" in answer[58]
    finally:
        for venue in ("sim-a", "sim-b", "sim-c"):
            admin(sim.base_url(venue), "freeze", {"frozen": False})
