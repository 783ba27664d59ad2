"""Session layer: logon authentication, sequence numbers, dictionary rejects, unsupported types."""

from __future__ import annotations

import time

import pytest

from tests.e2e.helpers import order, quote
from tests.fixclient import ConnectionClosed, FixClient, build_raw, utc_timestamp
from tests.fixtures.desk import RunningDesk, StartDesk


@pytest.fixture
def desk(start_desk: StartDesk) -> RunningDesk:
    return start_desk()


def test_logon_when_password_wrong_then_logout_with_text_and_disconnect(desk: RunningDesk) -> None:
    c = desk.client()
    answer = c.logon("client1", "wrong", expect_ok=False)
    assert answer.msg_type == "5"
    assert "invalid username or password" in answer[58]
    assert c.wait_closed(5)
    c.close()


def test_logon_when_password_missing_then_refused(desk: RunningDesk) -> None:
    c = desk.client()
    answer = c.logon("client1", None, expect_ok=False)
    assert answer.msg_type == "5"
    assert "Password(554)" in answer[58]
    assert c.wait_closed(5)
    c.close()


def test_logon_when_other_counterpartys_credentials_then_refused(desk: RunningDesk) -> None:
    c = desk.client("CLIENT1")
    answer = c.logon("client2", "client2-demo", expect_ok=False)
    assert answer.msg_type == "5"
    c.close()


def test_failed_logon_with_reset_flag_leaves_sequence_numbers_unchanged(desk: RunningDesk) -> None:
    good = desk.logged_on()
    for _ in range(3):
        quote(good, "BTC/USDT", "0.1")
    good.logout()
    desk.wait_session_free("CLIENT1")
    # The desk now expects CLIENT1's next message as good.next_out_seq and will send
    # good.last_in_seq + 1 (the Logout answer counts).
    expect_in = good.last_in_seq + 1
    expect_out = good.next_out_seq

    attacker = desk.client()
    answer = attacker.logon("client1", "not-the-password", reset=True, expect_ok=False)
    assert answer.msg_type == "5"
    assert attacker.wait_closed(5)
    attacker.close()
    time.sleep(0.05)  # the desk drops its end right after closing the socket

    again = desk.client()
    again.next_out_seq = expect_out
    logon = again.logon("client1", "client1-demo", reset=False)
    assert logon.seq_num == expect_in, f"desk sent {logon.seq_num}, expected {expect_in}"
    assert quote(again, "BTC/USDT", "0.1").msg_type == "S"
    again.close()


def test_unknown_sender_comp_id_never_gets_a_session(desk: RunningDesk) -> None:
    c = FixClient("127.0.0.1", desk.fix_port, sender="NOBODY")
    with pytest.raises((ConnectionClosed, TimeoutError, OSError)):
        c.logon("nobody", "x", timeout=3)
    c.close()


def test_second_connection_refused_and_first_undisturbed(desk: RunningDesk) -> None:
    first = desk.logged_on()
    second = desk.client()
    with pytest.raises((ConnectionClosed, AssertionError, TimeoutError, OSError)):
        second.logon("client1", "client1-demo", reset=False, timeout=3)
    second.close()
    assert quote(first, "BTC/USDT", "0.1").msg_type == "S"
    first.close()


@pytest.mark.parametrize(
    ("fields", "reason", "ref_tag"),
    [
        # NewOrderSingle without QuoteID(117): required tag missing.
        (
            [(11, "c-1"), (55, "BTC/USDT"), (54, "1"), (60, "{ts}"), (38, "1"), (40, "D")],
            "1",
            "117",
        ),
        # Side(54)=7: value out of range.
        (
            [
                (11, "c-2"),
                (117, "Q1"),
                (55, "BTC/USDT"),
                (54, "7"),
                (60, "{ts}"),
                (38, "1"),
                (40, "D"),
            ],
            "5",
            "54",
        ),
        # OrderQty(38)=abc: wrong data format.
        (
            [
                (11, "c-3"),
                (117, "Q1"),
                (55, "BTC/USDT"),
                (54, "1"),
                (60, "{ts}"),
                (38, "abc"),
                (40, "D"),
            ],
            "6",
            "38",
        ),
        # BidPx(132) does not belong in a NewOrderSingle.
        (
            [
                (11, "c-4"),
                (117, "Q1"),
                (55, "BTC/USDT"),
                (54, "1"),
                (60, "{ts}"),
                (38, "1"),
                (40, "D"),
                (132, "1"),
            ],
            "2",
            "132",
        ),
    ],
)
def test_dictionary_violation_gets_session_reject_and_session_stays_up(
    desk: RunningDesk, fields: list[tuple[int, str]], reason: str, ref_tag: str
) -> None:
    with desk.logged_on() as c:
        ts = utc_timestamp()
        c.send("D", [(tag, value.replace("{ts}", ts)) for tag, value in fields])
        reject = c.expect("3")
        assert reject[373] == reason, reject
        assert reject[371] == ref_tag, reject
        assert reject.get(58)
        assert quote(c, "BTC/USDT", "0.1").msg_type == "S"
    assert desk.server.core is not None
    assert desk.server.core.ledger.trade_log() == []


def test_unsupported_valid_message_type_gets_business_reject(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        # A valid FIX 4.4 MarketDataRequest: the desk does not offer market data.
        c.send(
            "V",
            [
                (262, "md-1"),
                (263, "0"),
                (264, "1"),
                (267, "1"),
                (269, "0"),
                (146, "1"),
                (55, "BTC/USDT"),
            ],
        )
        reject = c.expect("j")
        assert reject[380] == "3"
        assert quote(c, "BTC/USDT", "0.1").msg_type == "S"


def test_garbage_frame_does_not_kill_the_session(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        header = c.make_header("R")
        c.send_raw(build_raw([*header, (131, "r-x"), (146, "1")], begin_string="FIX.4.4"))
        answers = c.drain(0.5)
        assert all(a.msg_type in ("3", "AG") for a in answers), answers
        assert quote(c, "BTC/USDT", "0.1").msg_type == "S"


def test_fill_survives_in_the_store_for_a_resend_request(desk: RunningDesk) -> None:
    with desk.logged_on() as c:
        q = quote(c, "BTC/USDT", "0.1")
        _, fill = order(c, q, side="1")
        fill_seq = fill.seq_num
        assert fill_seq is not None
        c.send("2", [(7, str(fill_seq)), (16, str(fill_seq))])
        resent = c.expect("8")
        assert resent[43] == "Y"
        assert resent[17] == fill[17]


def test_session_restricted_to_other_source_address_refuses_this_one(
    start_desk: StartDesk,
) -> None:
    desk = start_desk(client2='allowed_addresses = ["127.0.0.2"]')
    c2 = desk.client("CLIENT2")
    with pytest.raises((ConnectionClosed, TimeoutError, OSError)):
        c2.logon("client2", "client2-demo", timeout=3)
    c2.close()
    # From the allowed address it logs on.
    allowed = FixClient("127.0.0.1", desk.fix_port, sender="CLIENT2", source_address="127.0.0.2")
    allowed.logon("client2", "client2-demo")
    assert quote(allowed, "ETH/USDT", "1").msg_type == "S"
    allowed.close()
    # Other sessions are not affected.
    with desk.logged_on("CLIENT1") as c1:
        assert quote(c1, "BTC/USDT", "0.1").msg_type == "S"
