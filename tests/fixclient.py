"""An independent raw-socket FIX 4.4 counterparty for end-to-end tests.

It talks to the desk as a counterparty would, and deliberately shares no code with the desk's
gateway (nothing from ``desk`` or ``gateway`` is imported): encoding and parsing come from
``simplefix``, transport is a plain blocking ``socket``. It implements only as much of the session
layer as tests need: Logon/Logout, answering TestRequest, sending Heartbeats while waiting,
sequence-number bookkeeping, and helpers for hand-made (possibly malformed) messages.

Typical use::

    with FixClient("127.0.0.1", port, sender="ACME") as c:
        c.logon("acme", "secret")
        c.send("R", [(131, "rfq-1"), (146, "1"), (55, "BTC/USDT"), (38, "1")])
        quote = c.expect("S")
        assert quote[131] == "rfq-1"
        c.logout()

Every inbound frame is checked for framing (BeginString, BodyLength, CheckSum); a bad one
raises :class:`FixProtocolError`.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType

import simplefix

__all__ = [
    "SOH",
    "ConnectionClosed",
    "FieldValue",
    "FixClient",
    "FixMessage",
    "FixProtocolError",
    "build_raw",
    "checksum",
    "encode_message",
    "utc_timestamp",
]

SOH = b"\x01"
BEGIN_STRING = "FIX.4.4"

FieldValue = str | bytes | int | Decimal
"""A field value: str (UTF-8 encoded), bytes (sent as is), int or Decimal (``str()``)."""


class ConnectionClosed(Exception):
    """The peer closed the connection (or it was reset)."""


class FixProtocolError(Exception):
    """An inbound frame is not valid FIX framing (BeginString, BodyLength, CheckSum)."""


# ------------------------------------------------------------------------------------------
# Codec helpers (no network)
# ------------------------------------------------------------------------------------------
def utc_timestamp(when: datetime | None = None) -> str:
    """A FIX UTCTimestamp with millisecond precision, e.g. ``20240102-03:04:05.678``."""
    when = datetime.now(UTC) if when is None else when.astimezone(UTC)
    return when.strftime("%Y%m%d-%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def _value_bytes(value: FieldValue) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bool):  # bool is an int: refuse rather than send "True"
        raise TypeError("use 'Y'/'N' for FIX booleans")
    if isinstance(value, int | Decimal):
        return str(value).encode("ascii")
    raise TypeError(f"unsupported FIX field value {value!r} ({type(value).__name__})")


def _tag_bytes(tag: int | str | bytes) -> bytes:
    if isinstance(tag, bytes):
        return tag
    return str(tag).encode("ascii")


def checksum(data: bytes) -> int:
    """FIX CheckSum(10): sum of all bytes modulo 256."""
    return sum(data) % 256


def encode_message(
    msg_type: str, pairs: Sequence[tuple[int, FieldValue]], begin_string: str = BEGIN_STRING
) -> bytes:
    """Encode a well-formed message with simplefix: 8, 9 and 35 first, then ``pairs`` in the
    given order (header fields first, then body; groups as flat tag/value pairs), then 10.

    Tags 8, 9, 35 and 10 inside ``pairs`` are not allowed (use :func:`build_raw` for that)."""
    msg = simplefix.FixMessage()
    msg.append_pair(8, begin_string)
    msg.append_pair(35, msg_type)
    for tag, value in pairs:
        if int(tag) in (8, 9, 35, 10):
            raise ValueError(f"tag {tag} is set by the encoder; use build_raw() for odd messages")
        msg.append_pair(int(tag), _value_bytes(value))
    data: bytes = msg.encode()
    return data


def build_raw(
    pairs: Sequence[tuple[int | str | bytes, FieldValue]],
    *,
    begin_string: str | bytes | None = BEGIN_STRING,
    body_length: int | str | bytes | None = None,
    omit_body_length: bool = False,
    checksum_value: int | str | bytes | None = None,
    omit_checksum: bool = False,
) -> bytes:
    """Build a possibly malformed message byte for byte.

    ``pairs`` is everything between BodyLength(9) and CheckSum(10), written verbatim in the given
    order (so it normally starts with 35, 49, 56, 34, 52 — see :meth:`FixClient.make_header`);
    tags may be anything, even non-numeric bytes, and values may be empty. BodyLength and
    CheckSum are computed correctly over what is actually written unless overridden with
    ``body_length`` / ``checksum_value`` (any value, e.g. ``"abc"``) or omitted. Pass
    ``begin_string=None`` to leave out BeginString(8).
    """
    body = b"".join(_tag_bytes(t) + b"=" + _value_bytes(v) + SOH for t, v in pairs)
    head = b""
    if begin_string is not None:
        head += b"8=" + _value_bytes(begin_string) + SOH
    if not omit_body_length:
        length = len(body) if body_length is None else body_length
        head += b"9=" + _value_bytes(length) + SOH
    data = head + body
    if not omit_checksum:
        if checksum_value is None:
            cs: bytes = f"{checksum(data):03d}".encode("ascii")
        elif isinstance(checksum_value, int):
            cs = f"{checksum_value:03d}".encode("ascii")
        else:
            cs = _value_bytes(checksum_value)
        data += b"10=" + cs + SOH
    return data


def split_frame(buf: bytes | bytearray) -> tuple[bytes, int] | None:
    """Find the first complete FIX frame at the start of ``buf``.

    Returns ``(frame, consumed)`` or ``None`` if more bytes are needed. Framing is by
    BodyLength, as a FIX engine does it; BodyLength and CheckSum are verified.
    Raises :class:`FixProtocolError` on bad framing."""
    if not buf:
        return None
    if len(buf) >= 2 and not buf.startswith(b"8="):
        raise FixProtocolError(f"frame does not start with 8=: {bytes(buf[:80])!r}")
    first = buf.find(SOH)
    if first < 0:
        return None
    second = buf.find(SOH, first + 1)
    if second < 0:
        return None
    field9 = bytes(buf[first + 1 : second])
    if not field9.startswith(b"9=") or not field9[2:].isdigit():
        raise FixProtocolError(f"second field is not BodyLength: {bytes(buf[:80])!r}")
    body_start = second + 1
    body_end = body_start + int(field9[2:])
    end = body_end + 7  # b"10=NNN\x01"
    if len(buf) < end:
        return None
    frame = bytes(buf[:end])
    trailer = frame[body_end:]
    if not (trailer.startswith(b"10=") and trailer.endswith(SOH) and trailer[3:6].isdigit()):
        raise FixProtocolError(f"BodyLength does not end at CheckSum: {frame!r}")
    if frame[body_end - 1 : body_end] != SOH:
        raise FixProtocolError(f"body does not end with SOH: {frame!r}")
    expected = checksum(frame[:body_end])
    if int(trailer[3:6]) != expected:
        raise FixProtocolError(f"CheckSum {trailer[3:6].decode()} != {expected:03d}: {frame!r}")
    return frame, end


# ------------------------------------------------------------------------------------------
# Messages
# ------------------------------------------------------------------------------------------
class FixMessage:
    """A parsed FIX message: ordered (tag, value) pairs with str values.

    ``msg[tag]`` raises KeyError if absent, ``msg.get(tag)`` returns None; both give the first
    occurrence. ``msg.get_all(tag)`` gives every occurrence (tags repeated in groups)."""

    __slots__ = ("_pairs", "raw")

    def __init__(self, pairs: Sequence[tuple[int, str]], raw: bytes = b"") -> None:
        self._pairs: list[tuple[int, str]] = [(int(t), str(v)) for t, v in pairs]
        self.raw = raw

    @classmethod
    def parse(cls, raw: bytes) -> FixMessage:
        """Parse one complete message (framing is not verified here; see :func:`split_frame`)."""
        parser = simplefix.FixParser()
        parser.append_buffer(raw)
        try:
            msg = parser.get_message()
        except Exception as exc:  # simplefix's own error classes
            raise FixProtocolError(f"cannot parse {raw!r}: {exc!r}") from exc
        if msg is None:
            raise FixProtocolError(f"not a complete FIX message: {raw!r}")
        pairs = [(int(t), v.decode("utf-8", errors="replace")) for t, v in msg.pairs]
        return cls(pairs, raw)

    @property
    def pairs(self) -> list[tuple[int, str]]:
        return list(self._pairs)

    @property
    def msg_type(self) -> str:
        return self.get(35) or ""

    @property
    def seq_num(self) -> int | None:
        value = self.get(34)
        return int(value) if value is not None and value.isdigit() else None

    def get(self, tag: int, default: str | None = None) -> str | None:
        for t, v in self._pairs:
            if t == tag:
                return v
        return default

    def __getitem__(self, tag: int) -> str:
        value = self.get(tag)
        if value is None:
            raise KeyError(f"tag {tag} not in message {self}")
        return value

    def get_all(self, tag: int) -> list[str]:
        return [v for t, v in self._pairs if t == tag]

    def has(self, tag: int) -> bool:
        return any(t == tag for t, _ in self._pairs)

    def __contains__(self, tag: object) -> bool:
        return isinstance(tag, int) and self.has(tag)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return iter(list(self._pairs))

    def __len__(self) -> int:
        return len(self._pairs)

    def get_groups(self, count_tag: int, member_tags: Sequence[int]) -> list[dict[int, str]]:
        """The entries of the repeating group counted by ``count_tag``.

        ``member_tags`` lists the group's fields, its delimiter (first field) first; an entry
        starts at each delimiter and the group ends at the first tag not in ``member_tags``.
        (Nested groups are not split.) The count field itself is not checked here."""
        members = set(member_tags)
        delim = member_tags[0]
        entries: list[dict[int, str]] = []
        inside = False
        for t, v in self._pairs:
            if not inside:
                inside = t == count_tag
                continue
            if t == delim:
                entries.append({t: v})
            elif t in members and entries:
                entries[-1].setdefault(t, v)
            else:
                break
        return entries

    def to_string(self, sep: str = "|", *, full: bool = False) -> str:
        """``35=S|131=...``; ``full=True`` also shows BeginString, BodyLength and CheckSum."""
        return sep.join(f"{t}={v}" for t, v in self._pairs if full or t not in (8, 9, 10))

    def __repr__(self) -> str:
        return self.to_string()

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixMessage) and self._pairs == other._pairs

    __hash__ = None  # type: ignore[assignment]


# ------------------------------------------------------------------------------------------
# The client
# ------------------------------------------------------------------------------------------
class FixClient:
    """A FIX 4.4 initiator over one blocking TCP socket. Not thread-safe.

    Sequence numbers: ``next_out_seq`` is the MsgSeqNum the next :meth:`send` uses;
    ``last_in_seq`` is the MsgSeqNum of the last inbound message that was not a PossDup.
    Every inbound message (Heartbeats and TestRequests included) is appended to ``received``;
    every outbound byte string to ``sent``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        target: str = "OTCDESK",
        heartbeat: int = 30,
        *,
        begin_string: str = BEGIN_STRING,
        source_address: str | None = None,
        after_close: Callable[[], None] | None = None,
    ) -> None:
        self.host = host
        self._after_close = after_close
        self.source_address = source_address
        self.port = port
        self.sender = sender
        self.target = target
        self.heartbeat = heartbeat
        self.begin_string = begin_string
        self.next_out_seq = 1
        self.last_in_seq = 0
        self.logged_on = False
        self.received: list[FixMessage] = []
        self.sent: list[bytes] = []
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self._pending: deque[FixMessage] = deque()
        self._peer_closed = False
        self._last_send = time.monotonic()

    # -- connection ---------------------------------------------------------------------
    def connect(self, timeout: float = 5) -> None:
        """Open the TCP connection (done by :meth:`logon` too if needed)."""
        if self._sock is not None:
            raise RuntimeError("already connected")
        source = (self.source_address, 0) if self.source_address else None
        sock = socket.create_connection(
            (self.host, self.port), timeout=timeout, source_address=source
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._buf.clear()
        self._pending.clear()
        self._peer_closed = False
        self._last_send = time.monotonic()

    def close(self) -> None:
        """Close the socket without a Logout (then run the ``after_close`` hook, if any)."""
        was_open = self._sock is not None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self.logged_on = False
        if was_open and self._after_close is not None:
            self._after_close()

    def is_connected(self) -> bool:
        """True while the socket is open and the peer has not closed it (checked without
        consuming data)."""
        if self._sock is None or self._peer_closed:
            return False
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
            if readable and self._sock.recv(1, socket.MSG_PEEK) == b"":
                self._peer_closed = True
        except (OSError, ValueError):
            self._peer_closed = True
        return not self._peer_closed

    def wait_closed(self, timeout: float = 5) -> bool:
        """Wait until the peer closes the connection; True if it did within ``timeout``.

        Messages arriving meanwhile are kept for :meth:`recv` (e.g. a Logout before the close)."""
        deadline = time.monotonic() + timeout
        if self._sock is None or self._peer_closed:
            return True
        while True:
            try:
                msg = self._next_message(deadline)
            except ConnectionClosed:
                return True
            except TimeoutError:
                return False
            self._pending.append(msg)

    def __enter__(self) -> FixClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.logged_on and self.is_connected():
            with contextlib.suppress(Exception):
                self.logout(timeout=1)
        self.close()

    # -- session ------------------------------------------------------------------------
    def logon(
        self,
        username: str | None,
        password: str | None,
        reset: bool = True,
        expect_ok: bool = True,
        timeout: float = 5,
        *,
        extra_fields: Sequence[tuple[int, FieldValue]] = (),
    ) -> FixMessage:
        """Send Logon (98=0, 108, 141=Y when ``reset``, 553/554 when given) and return the
        answer: the desk's Logon, or its Logout. With ``expect_ok`` anything but a Logon
        raises AssertionError. ``reset`` also restarts both sequence numbers at 1.
        Raises ConnectionClosed if the desk drops the connection without answering."""
        if self._sock is None:
            self.connect(timeout)
        fields: list[tuple[int, FieldValue]] = [(98, "0"), (108, str(self.heartbeat))]
        if reset:
            self.next_out_seq = 1
            self.last_in_seq = 0
            fields.append((141, "Y"))
        if username is not None:
            fields.append((553, username))
        if password is not None:
            fields.append((554, password))
        fields.extend(extra_fields)
        self.send("A", fields)
        answer = self.recv(timeout)
        if expect_ok:
            assert answer.msg_type == "A", f"expected Logon (35=A), got: {answer}"
        return answer

    def logout(self, text: str | None = None, timeout: float = 5) -> FixMessage | None:
        """Send Logout, wait for the desk's Logout (skipping other messages), then close.
        Returns the desk's Logout, or None if the connection closed first."""
        answer: FixMessage | None = None
        if self.is_connected():
            with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
                self.send("5", [(58, text)] if text is not None else [])
                deadline = time.monotonic() + timeout
                while answer is None:
                    msg = self.recv(max(0.0, deadline - time.monotonic()))
                    if msg.msg_type == "5":
                        answer = msg
        self.close()
        return answer

    def gap_fill(self, begin_seq: int, new_seq_no: int) -> int:
        """Answer a ResendRequest: SequenceReset-GapFill (123=Y, 43=Y) from ``begin_seq`` to
        ``new_seq_no``; afterwards ``next_out_seq`` is at least ``new_seq_no``."""
        seq = self.send("4", [(123, "Y"), (36, new_seq_no)], poss_dup=True, seq_num=begin_seq)
        self.next_out_seq = max(self.next_out_seq, new_seq_no)
        return seq

    # -- sending ------------------------------------------------------------------------
    def _take_seq(self, seq_num: int | None) -> int:
        if seq_num is None:
            seq = self.next_out_seq
            self.next_out_seq += 1
        else:
            seq = seq_num
            self.next_out_seq = max(self.next_out_seq, seq_num + 1)
        return seq

    def make_header(self, msg_type: str, seq_num: int | None = None) -> list[tuple[int, str]]:
        """A correct standard header (35, 49, 56, 34, 52) for :func:`build_raw`, taking a
        sequence number like :meth:`send` does."""
        seq = self._take_seq(seq_num)
        return [
            (35, msg_type),
            (49, self.sender),
            (56, self.target),
            (34, str(seq)),
            (52, utc_timestamp()),
        ]

    def send(
        self,
        msg_type: str,
        fields: Sequence[tuple[int, FieldValue]],
        *,
        poss_resend: bool = False,
        poss_dup: bool = False,
        seq_num: int | None = None,
        orig_sending_time: str | None = None,
    ) -> int:
        """Send a message; returns the MsgSeqNum used.

        The header (8, 9, 35, 49, 56, 34, [43=Y], [97=Y], 52, [122]) and CheckSum are added.
        ``fields`` is the body in wire order; a repeating group is its count tag followed by
        each entry's fields as flat pairs. ``seq_num`` overrides the sequence number (then
        ``next_out_seq`` becomes at least ``seq_num + 1``). OrigSendingTime(122) is added when
        ``poss_dup`` (defaulting to SendingTime) or when ``orig_sending_time`` is given."""
        seq = self._take_seq(seq_num)
        now = utc_timestamp()
        header: list[tuple[int, FieldValue]] = [(49, self.sender), (56, self.target), (34, seq)]
        if poss_dup:
            header.append((43, "Y"))
        if poss_resend:
            header.append((97, "Y"))
        header.append((52, now))
        if poss_dup or orig_sending_time is not None:
            header.append((122, orig_sending_time or now))
        self.send_raw(encode_message(msg_type, header + list(fields), self.begin_string))
        return seq

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (sequence numbers are not touched)."""
        if self._sock is None:
            raise ConnectionClosed("not connected")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            self._peer_closed = True
            raise ConnectionClosed(f"send failed: {exc}") from exc
        self.sent.append(data)
        self._last_send = time.monotonic()

    # -- receiving ----------------------------------------------------------------------
    def recv(self, timeout: float = 5) -> FixMessage:
        """The next inbound message other than Heartbeat(0) and TestRequest(1).

        TestRequests are answered with a Heartbeat carrying their TestReqID(112); while
        waiting, a Heartbeat is sent whenever the client has been silent for ``heartbeat``
        seconds. Raises TimeoutError, or ConnectionClosed once the peer has closed and every
        message it sent before has been returned."""
        if self._pending:
            return self._pending.popleft()
        return self._next_message(time.monotonic() + timeout)

    def expect(self, msg_type: str, timeout: float = 5) -> FixMessage:
        """:meth:`recv` and assert the MsgType, showing the whole message if it differs."""
        try:
            msg = self.recv(timeout)
        except TimeoutError:
            raise AssertionError(
                f"expected 35={msg_type} but nothing arrived within {timeout}s"
                f" (last received: {self._recent()})"
            ) from None
        except ConnectionClosed:
            raise AssertionError(
                f"expected 35={msg_type} but the peer closed the connection"
            ) from None
        assert msg.msg_type == msg_type, f"expected 35={msg_type}, got: {msg}"
        return msg

    def _recent(self, n: int = 3) -> str:
        return " || ".join(str(m) for m in self.received[-n:]) or "nothing"

    def wait_for(self, msg_type: str, timeout: float = 5) -> FixMessage:
        """Like :meth:`expect` but skips other message types (e.g. streamed Quotes)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no 35={msg_type} within {timeout}s")
            try:
                msg = self.recv(remaining)
            except TimeoutError:
                continue
            except ConnectionClosed:
                raise AssertionError(
                    f"expected 35={msg_type} but the peer closed the connection"
                ) from None
            if msg.msg_type == msg_type:
                return msg

    def drain(self, timeout: float = 0.2) -> list[FixMessage]:
        """Every message arriving within ``timeout`` (stops early if the peer closes)."""
        deadline = time.monotonic() + timeout
        out: list[FixMessage] = []
        while True:
            try:
                out.append(self.recv(max(0.0, deadline - time.monotonic())))
            except (TimeoutError, ConnectionClosed):
                return out

    def _next_message(self, deadline: float) -> FixMessage:
        while True:
            msg = self._next_frame(deadline)
            self.received.append(msg)
            seq = msg.seq_num
            if seq is not None and msg.get(43) != "Y":
                self.last_in_seq = seq
            kind = msg.msg_type
            if kind == "0":
                continue
            if kind == "1":
                test_req_id = msg.get(112)
                self.send("0", [(112, test_req_id)] if test_req_id is not None else [])
                continue
            if kind == "A":
                self.logged_on = True
            elif kind == "5":
                self.logged_on = False
            return msg

    def _next_frame(self, deadline: float) -> FixMessage:
        while True:
            found = split_frame(self._buf)
            if found is not None:
                frame, consumed = found
                del self._buf[:consumed]
                return FixMessage.parse(frame)
            if self._sock is None or self._peer_closed:
                raise ConnectionClosed("connection closed by peer")
            now = time.monotonic()
            if self.logged_on and now - self._last_send >= self.heartbeat:
                self.send("0", [])
                now = time.monotonic()
            if now >= deadline:
                raise TimeoutError("no FIX message within the timeout")
            wait = deadline - now
            if self.logged_on:
                wait = min(wait, max(0.01, self._last_send + self.heartbeat - now))
            self._sock.settimeout(wait)
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                self._peer_closed = True
                raise ConnectionClosed(f"connection lost: {exc}") from exc
            if not data:
                self._peer_closed = True
                if self._buf:
                    raise FixProtocolError(f"peer closed mid-message: {bytes(self._buf)!r}")
                raise ConnectionClosed("connection closed by peer")
            self._buf += data
