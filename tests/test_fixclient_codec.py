"""Tests of the independent FIX test client (tests/fixclient.py): codec, and a little network
behaviour against a throwaway loopback server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from tests.fixclient import (
    SOH,
    ConnectionClosed,
    FieldValue,
    FixClient,
    FixMessage,
    FixProtocolError,
    build_raw,
    checksum,
    encode_message,
    split_frame,
    utc_timestamp,
)

# Worked by hand: body "35=0|" is 5 bytes; the bytes of "8=FIX.4.4|9=5|35=0|" sum to 163 mod 256.
HEARTBEAT = b"8=FIX.4.4\x019=5\x0135=0\x0110=163\x01"
# Body "35=R|49=ACME|56=OTCDESK|34=7|131=q1|146=1|55=BTC/USDT|" is 5+8+11+5+7+6+12 = 54 bytes.
RFQ = (
    b"8=FIX.4.4\x019=54\x0135=R\x0149=ACME\x0156=OTCDESK\x0134=7\x01"
    b"131=q1\x01146=1\x0155=BTC/USDT\x0110=187\x01"
)


def bar(data: bytes) -> str:
    return data.replace(SOH, b"|").decode()


# ------------------------------------------------------------------------------------------
# Codec
# ------------------------------------------------------------------------------------------
def test_encode_matches_hand_computed_examples() -> None:
    assert encode_message("0", []) == HEARTBEAT
    pairs: list[tuple[int, FieldValue]] = [
        (49, "ACME"),
        (56, "OTCDESK"),
        (34, 7),
        (131, "q1"),
        (146, 1),
        (55, "BTC/USDT"),
    ]
    assert encode_message("R", pairs) == RFQ
    assert checksum(b"8=FIX.4.4\x019=5\x0135=0\x01") == 163


def test_build_raw_computes_and_overrides_framing() -> None:
    assert build_raw([(35, "0")]) == HEARTBEAT
    assert build_raw([(35, "R"), (49, "ACME"), (56, "OTCDESK"), (34, "7"),
                      (131, "q1"), (146, "1"), (55, "BTC/USDT")]) == RFQ  # fmt: skip
    bad_len = build_raw([(35, "0")], body_length=6)
    assert bar(bad_len).startswith("8=FIX.4.4|9=6|35=0|10=")
    # The checksum is still computed over what is written.
    assert bad_len.endswith(b"10=%03d\x01" % checksum(bad_len[: bad_len.index(b"10=")]))
    assert build_raw([(35, "0")], checksum_value=7).endswith(b"10=007\x01")
    assert build_raw([(35, "0")], checksum_value="XYZ").endswith(b"10=XYZ\x01")
    assert bar(build_raw([(35, "0")], omit_checksum=True)) == "8=FIX.4.4|9=5|35=0|"
    assert bar(build_raw([(35, "0")], omit_body_length=True)).startswith("8=FIX.4.4|35=0|10=")
    assert bar(build_raw([(35, "0")], begin_string=None)).startswith("9=5|35=0|")
    # Odd tags and empty values are written verbatim, and counted.
    odd = build_raw([(35, "D"), (b"abc", ""), (55, b"\xff")])
    assert b"\x01abc=\x0155=\xff\x01" in odd
    assert odd.startswith(b"8=FIX.4.4\x019=15\x01")  # 5 + 5 + 5 bytes


def test_encode_refuses_framing_tags_and_bad_values() -> None:
    with pytest.raises(ValueError, match="build_raw"):
        encode_message("0", [(10, "000")])
    with pytest.raises(TypeError):
        encode_message("0", [(58, 1.5)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        encode_message("0", [(141, True)])


def test_round_trip_keeps_order_and_groups() -> None:
    body: list[tuple[int, FieldValue]] = [
        (49, "ACME"), (56, "OTCDESK"), (34, 12), (52, "20240102-03:04:05.678"),
        (131, "rfq-1"), (146, 2),
        (55, "BTC/USDT"), (54, "1"), (38, "1.5"),
        (55, "ETH/USD"), (54, "2"), (152, "25000"),
        (58, "héllo"),
    ]  # fmt: skip
    data = encode_message("R", body)
    frame = split_frame(data + b"8=FIX")  # a second, partial message behind it is left alone
    assert frame == (data, len(data))
    msg = FixMessage.parse(data)
    assert msg.msg_type == "R"
    assert msg.seq_num == 12
    assert [t for t, _ in msg.pairs] == [8, 9, 35] + [t for t, _ in body] + [10]
    assert msg.get_all(55) == ["BTC/USDT", "ETH/USD"]
    assert msg.get_all(54) == ["1", "2"]
    assert msg.get(58) == "héllo"
    assert msg.get_groups(146, [55, 54, 38, 152]) == [
        {55: "BTC/USDT", 54: "1", 38: "1.5"},
        {55: "ETH/USD", 54: "2", 152: "25000"},
    ]
    assert msg[9] == str(len(data) - len("8=FIX.4.4|9=NNN|") - len("10=NNN|"))
    assert int(msg[10]) == checksum(data[: data.index(b"\x0110=") + 1])


def test_fixmessage_accessors_and_repr() -> None:
    msg = FixMessage.parse(RFQ)
    assert msg.get(131) == "q1"
    assert msg[55] == "BTC/USDT"
    assert msg.get(999) is None
    assert msg.get(999, "x") == "x"
    with pytest.raises(KeyError, match="999"):
        msg[999]
    assert msg.has(146)
    assert 146 in msg
    assert not msg.has(54)
    assert msg.get_all(54) == []
    assert msg.pairs[0] == (8, "FIX.4.4")
    assert repr(msg) == "35=R|49=ACME|56=OTCDESK|34=7|131=q1|146=1|55=BTC/USDT"
    assert str(msg) == repr(msg)
    assert msg.to_string(full=True).startswith("8=FIX.4.4|9=54|35=R|")
    assert msg.to_string(full=True).endswith("|10=187")
    assert msg == FixMessage.parse(RFQ)
    assert msg.raw == RFQ


def test_split_frame_waits_for_whole_frame_and_rejects_bad_framing() -> None:
    for cut in range(len(RFQ)):
        assert split_frame(RFQ[:cut]) is None
    assert split_frame(RFQ) == (RFQ, len(RFQ))
    with pytest.raises(FixProtocolError, match="CheckSum"):
        split_frame(RFQ.replace(b"10=187", b"10=188"))
    with pytest.raises(FixProtocolError):
        split_frame(RFQ.replace(b"9=54", b"9=53"))
    with pytest.raises(FixProtocolError, match="8="):
        split_frame(b"junk" + RFQ)


def test_utc_timestamp_format() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert utc_timestamp(when) == "20240102-03:04:05.678"
    assert len(utc_timestamp()) == 21


# ------------------------------------------------------------------------------------------
# Loopback behaviour against a throwaway server
# ------------------------------------------------------------------------------------------
class Peer:
    """The server side of one accepted connection, with FIX framing."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.conn.settimeout(5)
        self.buf = bytearray()

    def read(self) -> FixMessage:
        return FixMessage.parse(self.read_frame())

    def read_frame(self) -> bytes:
        while True:
            found = split_frame(self.buf)
            if found is not None:
                frame, consumed = found
                del self.buf[:consumed]
                return frame
            data = self.conn.recv(65536)
            if not data:
                raise ConnectionClosed("client closed")
            self.buf += data

    def send(self, msg_type: str, seq: int, fields: list[tuple[int, str]]) -> None:
        header = [(49, "OTCDESK"), (56, "ACME"), (34, str(seq)), (52, utc_timestamp())]
        self.conn.sendall(encode_message(msg_type, [*header, *fields]))


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Peer], None]], int]]:
    """Run ``script(peer)`` for one connection on a loopback port; yields a starter."""
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []
    listeners: list[socket.socket] = []

    def start(script: Callable[[Peer], None]) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(5)
        listeners.append(listener)

        def run() -> None:
            try:
                conn, _ = listener.accept()
                with conn:
                    script(Peer(conn))
            except BaseException as exc:  # reported by the fixture
                errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        port: int = listener.getsockname()[1]
        return port

    yield start
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "server script did not finish"
    for listener in listeners:
        listener.close()
    if errors:
        raise errors[0]


def test_logon_test_request_timeout_and_close(
    serve: Callable[[Callable[[Peer], None]], int],
) -> None:
    seen: list[FixMessage] = []

    def script(peer: Peer) -> None:
        logon = peer.read()
        seen.append(logon)
        peer.send("A", 1, [(98, "0"), (108, "30"), (141, "Y")])
        peer.send("0", 2, [])  # swallowed by recv()
        peer.send("1", 3, [(112, "ping-1")])  # answered by recv(), not returned
        peer.send("S", 4, [(131, "q1"), (117, "Q-1"), (55, "BTC/USDT")])
        seen.append(peer.read())  # the Heartbeat answering the TestRequest
        seen.append(peer.read())  # the QuoteRequest
        time.sleep(0.3)  # nothing sent: the client's recv() times out meanwhile
        peer.send("5", 5, [(58, "bye")])

    port = serve(script)
    with FixClient("127.0.0.1", port, sender="ACME") as client:
        answer = client.logon("acme", "secret")
        assert answer.msg_type == "A"
        assert client.logged_on
        quote = client.expect("S")
        assert quote[117] == "Q-1"
        assert client.last_in_seq == 4
        seq = client.send("R", [(131, "q2"), (146, "1"), (55, "ETH/USD"), (38, "2")])
        assert seq == 3
        assert client.next_out_seq == 4  # 1 Logon, 2 Heartbeat, 3 QuoteRequest
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            client.recv(timeout=0.1)
        assert time.monotonic() - started < 1
        logout = client.expect("5")
        assert logout[58] == "bye"
        assert client.wait_closed(5)
        assert not client.is_connected()
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=1)
        assert [m.msg_type for m in client.received] == ["A", "0", "1", "S", "5"]

    logon, heartbeat, rfq = seen
    assert logon.msg_type == "A"
    assert logon.get_all(98) == ["0"]
    assert logon[108] == "30"
    assert logon[141] == "Y"
    assert logon[553] == "acme"
    assert logon[554] == "secret"
    assert logon[49] == "ACME"
    assert logon[56] == "OTCDESK"
    assert logon.seq_num == 1
    assert heartbeat.msg_type == "0"
    assert heartbeat[112] == "ping-1"
    assert heartbeat.seq_num == 2
    assert rfq.seq_num == 3
    assert [t for t, _ in rfq.pairs][2:8] == [35, 49, 56, 34, 52, 131]


def test_rejected_logon_then_close(serve: Callable[[Callable[[Peer], None]], int]) -> None:
    def script(peer: Peer) -> None:
        peer.read()
        peer.send("5", 1, [(58, "invalid credentials")])

    port = serve(script)
    client = FixClient("127.0.0.1", port, sender="ACME")
    with pytest.raises(AssertionError, match="58=invalid credentials"):
        client.logon("acme", "wrong")
    client.close()

    port = serve(script)
    with FixClient("127.0.0.1", port, sender="ACME") as client:
        answer = client.logon("acme", "wrong", expect_ok=False)
        assert answer.msg_type == "5"
        assert not client.logged_on
        assert client.wait_closed(5)


def test_poss_dup_seq_override_and_raw(serve: Callable[[Callable[[Peer], None]], int]) -> None:
    got: list[bytes] = []

    def script(peer: Peer) -> None:
        got.extend(peer.read_frame() for _ in range(4))

    port = serve(script)
    with FixClient("127.0.0.1", port, sender="ACME") as client:
        client.connect()
        client.next_out_seq = 5
        assert client.send("D", [(11, "c1")], poss_resend=True) == 5
        assert client.send("D", [(11, "c1")], poss_dup=True, seq_num=3) == 3
        assert client.next_out_seq == 6
        assert client.send("0", [], seq_num=10) == 10
        assert client.next_out_seq == 11
        client.send_raw(build_raw([*client.make_header("D"), (11, "")]))
        assert client.next_out_seq == 12
        assert client.wait_closed(5)

    resend, dup, jump = (FixMessage.parse(frame) for frame in got[:3])
    raw = got[3]
    assert resend[97] == "Y"
    assert not resend.has(43)
    assert not resend.has(122)
    assert dup[43] == "Y"
    assert dup[122] == dup[52]
    assert dup.seq_num == 3
    assert jump.seq_num == 10
    assert b"\x0134=11\x01" in raw
    assert b"\x0111=\x0110=" in raw


def test_recv_sends_heartbeats_while_waiting(
    serve: Callable[[Callable[[Peer], None]], int],
) -> None:
    got: list[FixMessage] = []

    def script(peer: Peer) -> None:
        peer.read()
        peer.send("A", 1, [(98, "0"), (108, "1")])
        got.append(peer.read())  # a Heartbeat within ~1 s of silence

    port = serve(script)
    with FixClient("127.0.0.1", port, sender="ACME", heartbeat=1) as client:
        client.logon(None, None)
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=5)
    assert got[0].msg_type == "0"
    assert not got[0].has(112)
