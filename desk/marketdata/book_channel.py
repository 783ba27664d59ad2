"""Finished books between processes: the message, and a channel that never blocks its sender.

The market-data process sends ``("book", VenueBook)`` to the desk (``FeedProcess``), which
passes each one on, still pickled, to the hedger's process over a channel of this module: a
``SOCK_SEQPACKET`` socket pair, so every book arrives whole or not at all. The desk's end
never waits: a book the channel cannot take now is dropped, which costs nothing, as every
book is the venue's whole top of book and the next one supersedes it.
"""

from __future__ import annotations

import contextlib
import pickle
import socket
import threading
from typing import Any

import structlog

from desk.clock import Clock
from desk.marketdata.snapshot import MarketSnapshot, VenueBook

log = structlog.get_logger("desk.marketdata")

# Largest book message taken: 20 levels a side pickle to about 3 KB; 1 000 (Binance's deepest
# REST page) to about 100 KB.
MAX_BOOK_BYTES = 1 << 20


def book_of(message: Any) -> VenueBook | None:
    """The book in a ``("book", VenueBook)`` message; None for anything else."""
    if type(message) is tuple and len(message) == 2 and message[0] == "book":
        book = message[1]
        if type(book) is VenueBook:
            return book
    return None


class BookSender:
    """The desk's end: ``send`` is safe from any thread and never blocks."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock: socket.socket | None = sock
        # Held while sending and while closing: a descriptor closed under a sender could be
        # reused at once by a socket or a database file.
        self._lock = threading.Lock()
        self.dropped = 0

    def send(self, raw: bytes) -> None:
        with self._lock:
            if self._sock is None:
                return
            try:
                self._sock.send(raw)
                return
            except BlockingIOError:
                error = "the receiver is behind"  # a later book of that venue supersedes it
            except OSError as exc:
                error = str(exc)
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("md.book_not_passed_on", error=error, dropped=self.dropped)

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
            if sock is not None:
                sock.close()


def open_book_channel() -> tuple[BookSender, int]:
    """A new channel: the desk's sending end, and the receiving end's bare descriptor for a
    child (the caller closes it once the child has it)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return BookSender(ours), theirs.detach()


def receive_books(fd: int, snapshot: MarketSnapshot, clock: Clock) -> None:
    """Write every book arriving on ``fd`` into ``snapshot`` (at ``clock``'s monotonic time
    of arrival) until the sending end closes."""
    buffer = bytearray(MAX_BOOK_BYTES)
    with socket.socket(fileno=fd) as sock:
        while True:
            try:
                size = sock.recv_into(buffer, 0, socket.MSG_TRUNC)
            except OSError:
                return
            if size == 0:
                return  # the desk closed its end
            if size > MAX_BOOK_BYTES:
                log.error("md.book_too_large", size=size, max_bytes=MAX_BOOK_BYTES)
                continue
            book = None
            with contextlib.suppress(Exception):
                book = book_of(pickle.loads(memoryview(buffer)[:size]))  # noqa: S301 - the desk
            if book is None:
                log.error("md.book_message_unknown", size=size)
                continue
            snapshot.update(book, clock.monotonic())
