"""Every OrdRejReason code in the ROE table, and the rules that keep a trade single."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tests.e2e.helpers import next_id, order, quote
from tests.fixclient import FixMessage
from tests.fixtures.desk import RunningDesk, StartDesk


def assert_order_rejected(report: FixMessage, reason: str, code: str) -> None:
    assert report.msg_type == "8", report
    assert report[150] == "8", report
    assert report[39] == "8", report
    assert report[103] == reason, report
    assert report[58].startswith(f"{code}: "), report
    assert report[17]
    assert report[37]


@pytest.fixture
def desk(start_desk: StartDesk) -> RunningDesk:
    return start_desk(client2_credit_limit="40000")


@pytest.mark.parametrize(
    ("changes", "reason", "code"),
    [
        ({"ord_type": "2"}, "99", "BAD_ORDTYPE"),
        ({"tif": "3"}, "99", "BAD_TIF"),
        ({"symbol": "DOGE/USDT"}, "1", "UNKNOWN_SYMBOL"),
        ({"symbol": "ETH/USDT"}, "99", "SYMBOL_MISMATCH"),
        ({"quote_id": "Q-never-issued"}, "5", "QUOTE_UNKNOWN"),
        ({"qty": "0.6"}, "99", "QTY_ABOVE_QUOTE"),
        ({"price": "1.00"}, "99", "PRICE_MISMATCH"),
    ],
)
def test_order_when_it_breaks_a_rule_then_rejected_and_quote_still_executable(
    desk: RunningDesk, changes: dict[str, str], reason: str, code: str
) -> None:
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.5", side="1")
        _, report = order(c, q, side="1", **changes)
        assert_order_rejected(report, reason, code)
        # A bad order never uses up the quote.
        _, fill = order(c, q, side="1")
        assert fill[150] == "F"


def test_order_when_side_not_quoted_then_side_mismatch(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.5", side="1")
        _, report = order(c, q, side="2", price=q[133])
        assert_order_rejected(report, "99", "SIDE_MISMATCH")


def test_order_when_quote_is_indicative_then_rejected(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.5", quote_type="0")
        _, report = order(c, q, side="1")
        assert_order_rejected(report, "99", "QUOTE_INDICATIVE")


def test_order_when_quote_belongs_to_other_counterparty_then_unknown(desk: RunningDesk) -> None:
    with desk.logged_on("CLIENT1") as c1, desk.logged_on("CLIENT2") as c2:
        q = quote(c1, "BTC/USDT", "0.1")
        _, report = order(c2, q, side="1")
        assert_order_rejected(report, "5", "QUOTE_UNKNOWN")
        assert "CLIENT1" not in report[58]
        _, fill = order(c1, q, side="1")
        assert fill[150] == "F"


def test_order_when_quote_executed_twice_then_already_executed(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.2")
        _, fill = order(c, q, side="1")
        assert fill[150] == "F"
        _, again = order(c, q, side="2")
        assert_order_rejected(again, "99", "QUOTE_ALREADY_EXECUTED")


def test_order_when_quote_expired_then_rejected(start_desk: StartDesk) -> None:
    desk = start_desk()
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.2")
        time.sleep(3.2)  # the test config's BTC quote TTL is 3 s
        _, report = order(c, q, side="1")
        assert_order_rejected(report, "99", "QUOTE_EXPIRED")


def test_order_when_clordid_reused_then_duplicate_and_one_trade(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        q1 = quote(c, "BTC/USDT", "0.1")
        cl, fill = order(c, q1, side="1")
        assert fill[150] == "F"
        q2 = quote(c, "BTC/USDT", "0.1")
        _, dup = order(c, q2, side="1", cl_ord_id=cl)
        assert_order_rejected(dup, "6", "DUPLICATE_CLORDID")
        # The second quote was not consumed by the duplicate.
        _, fill2 = order(c, q2, side="1")
        assert fill2[150] == "F"
    assert desk.server.core is not None
    rows = desk.server.core.ledger.trade_log()
    assert [r.cl_ord_id for r in rows].count(cl) == 1


def test_order_when_rejected_clordid_is_reused_then_duplicate(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.1")
        cl, report = order(c, q, side="1", price="1.00")
        assert_order_rejected(report, "99", "PRICE_MISMATCH")
        _, dup = order(c, q, side="1", cl_ord_id=cl)
        assert_order_rejected(dup, "6", "DUPLICATE_CLORDID")


def test_order_when_credit_line_used_up_then_credit_limit(desk: RunningDesk) -> None:
    # CLIENT2's line is 40,000 USDT a day here: the first 0.5 BTC (~30,000) fits, the next not.
    with desk.logged_on("CLIENT2") as c:
        q1 = quote(c, "BTC/USDT", "0.5")
        q2 = quote(c, "BTC/USDT", "0.5")
        _, fill = order(c, q1, side="1")
        assert fill[150] == "F"
        _, report = order(c, q2, side="1")
        assert_order_rejected(report, "3", "CREDIT_LIMIT")


def test_order_when_possresend_of_filled_order_then_original_fill(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.3")
        cl, fill = order(c, q, side="1")
        _, again = order(c, q, side="1", cl_ord_id=cl, poss_resend=True)
        assert again[150] == "F"
        assert again[39] == "2"
        assert again[17] == fill[17]
        assert again[37] == fill[37]
        assert again[97] == "Y"
        assert Decimal(again[31]) == Decimal(fill[31])
    assert desk.server.core is not None
    assert len(desk.server.core.ledger.trade_log()) == 1


def test_order_status_reports_filled_rejected_and_unknown(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.1")
        cl_fill, fill = order(c, q, side="1")
        cl_rej, _ = order(c, quote(c, "BTC/USDT", "0.1"), side="1", price="1.00")

        def status(cl: str) -> FixMessage:
            c.send("H", [(11, cl), (55, "BTC/USDT"), (54, "1")])
            report = c.expect("8")
            assert report[150] == "I"
            assert report[11] == cl
            return report

        filled = status(cl_fill)
        assert filled[39] == "2"
        assert filled[37] == fill[37]
        assert Decimal(filled[14]) == Decimal("0.1")
        assert status(cl_rej)[39] == "8"
        unknown = status(next_id("nope"))
        assert unknown[39] == "8"
        assert unknown[58].startswith("UNKNOWN_ORDER")


def test_order_status_never_shows_another_counterpartys_order(desk: RunningDesk) -> None:
    with desk.logged_on("CLIENT1") as c1, desk.logged_on("CLIENT2") as c2:
        cl, _ = order(c1, quote(c1, "BTC/USDT", "0.1"), side="1")
        c2.send("H", [(11, cl), (55, "BTC/USDT"), (54, "1")])
        report = c2.expect("8")
        assert report[39] == "8"
        assert report[58].startswith("UNKNOWN_ORDER")
