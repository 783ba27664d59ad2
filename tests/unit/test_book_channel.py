"""The channel that carries the desk's books to the hedger's process: whole books, a sender
that never waits, and a receiver that refuses what is not a book and ends with the sender."""

from __future__ import annotations

import os
import pickle
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from structlog.testing import capture_logs

from desk.clock import SystemClock
from desk.marketdata.book_channel import book_of, open_book_channel, receive_books
from desk.marketdata.snapshot import MarketSnapshot, VenueBook


def _book(update_id: int, levels: int = 20, symbol: str = "BTC/USDT") -> VenueBook:
    return VenueBook(
        venue="sim-a",
        symbol=symbol,
        bids=tuple((Decimal(50000 - i) + Decimal("0.01"), Decimal("1.5")) for i in range(levels)),
        asks=tuple((Decimal(50001 + i), Decimal("0.25")) for i in range(levels)),
        update_id=update_id,
        received_at=datetime.now(UTC),
        changed_mono=0.0,
        source="stream",
    )


def _raw(book: object) -> bytes:
    return pickle.dumps(("book", book))


def test_books_arrive_whole_and_junk_is_refused_until_the_sender_closes() -> None:
    sender, fd = open_book_channel()
    snapshot = MarketSnapshot()
    deep, top = _book(1, levels=1000, symbol="ETH/USDT"), _book(2)
    with capture_logs() as logs:
        receiver = threading.Thread(target=receive_books, args=(fd, snapshot, SystemClock()))
        receiver.start()
        sender.send(b"not a pickle")
        sender.send(pickle.dumps(("quote", "x")))
        sender.send(_raw(deep))  # ~60 KB: many pages of a pipe, one message here
        sender.send(_raw(top))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and snapshot.get("sim-a", "BTC/USDT") is None:
            time.sleep(0.01)
        sender.close()
        receiver.join(5)
    assert not receiver.is_alive()  # ended with the sender
    for sent in (deep, top):
        got = snapshot.get(sent.venue, sent.symbol)
        assert got is not None
        assert got == replace(sent, changed_mono=got.changed_mono)  # level for level
        assert 0 <= time.monotonic() - got.changed_mono < 5  # the receiver's clock
    assert [e["event"] for e in logs] == ["md.book_message_unknown"] * 2


def test_the_sender_never_waits_for_a_receiver_that_is_behind() -> None:
    sender, fd = open_book_channel()
    try:
        raw = _raw(_book(1))
        began = time.monotonic()
        with capture_logs() as logs:
            for _ in range(2000):  # ~6 MB: far past what the socket holds unread
                sender.send(raw)
        assert time.monotonic() - began < 2
        assert 0 < sender.dropped < 2000
        # Told at the first drop and every thousandth, not once per book.
        told = [e for e in logs if e["event"] == "md.book_not_passed_on"]
        assert [e["dropped"] for e in told] == [1, 1000][: 1 + sender.dropped // 1000]
        assert {e["log_level"] for e in told} == {"warning"}
    finally:
        sender.close()
        os.close(fd)
    sender.send(raw)  # after close: nothing, no error


def test_book_of_takes_only_a_book_message() -> None:
    book = _book(1)
    assert book_of(("book", book)) is book
    assert book_of(("book", "sim-a")) is None
    assert book_of(["book", book]) is None
    assert book_of(("hedged", book)) is None
