"""The hedger in a process of its own, as the desk sees it: ``start``, ``notify``, ``stop``.

In the desk's process the hedger held the interpreter's lock about as long as the FIX
thread during a stream of fills (routing, SQLAlchemy, ccxt), so every order waited for it.
Here it runs in a child (``desk.hedging.hedger_main``) on its own ledger connections,
venue clients and books, started and restarted as every helper process is
(``desk.process.supervised``). What crosses between the two:

- to the child, a wake-up per booked fill: the symbol, written to a pipe that never
  blocks the desk. A wake-up the pipe cannot take is dropped; the child's poll of the
  outbox (``poll_ms``) finds the intent anyway.
- to the child, when the desk's market data runs in a process of its own, every book it
  receives, over a channel that never blocks the desk (``desk.marketdata.book_channel``);
  the child then runs no feed of its own.
- to the desk, after each exchange fill it books, the hedger's total per asset, which the
  desk's inventory takes as it is (``HedgedSink``): a repeated or lost message costs
  nothing that the next one, or a restarted child's first, does not put right.

A child that dies is started again (after 1 s, doubling up to 30 s while it keeps
failing); it resumes its working batches from the ledger, as a restarted desk does.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import structlog

from desk.config.model import DeskConfig
from desk.hedging.hedger_main import SCAN_ALL
from desk.hedging.positions import HedgedSink
from desk.log_setup import logging_settings
from desk.marketdata.book_channel import BookSender, open_book_channel
from desk.process.supervised import RESTART_MIN_S, START_TIMEOUT_S, SupervisedChild

log = structlog.get_logger("desk.hedging")


class HedgerProcess(SupervisedChild):
    """Starts, feeds and restarts the hedger's process; ``notify`` is safe from any thread."""

    def __init__(
        self,
        config: DeskConfig,
        on_hedged: HedgedSink,
        *,
        start_timeout_s: float = START_TIMEOUT_S,
        restart_min_s: float = RESTART_MIN_S,
        books_from_desk: bool = False,
        command: Callable[..., list[str]] | None = None,
    ) -> None:
        """``books_from_desk``: the child takes its books from the desk's market-data process
        (``forward_book``) instead of running a feed of its own. ``command``: the child's
        argv for its pipe, wake-up and (with ``books_from_desk``) books descriptors (tests
        use it to start a child that fails)."""
        # The simulator's section is not the hedger's business (and does not pickle).
        super().__init__(
            event_prefix="hedge",
            start_message=(replace(config, simulator=None), logging_settings()),
            command=command or _hedger_command,
            start_timeout_s=start_timeout_s,
            restart_min_s=restart_min_s,
        )
        self._on_hedged = on_hedged
        # Held while writing to the wake-up pipe and while closing it: a descriptor number
        # closed under a writer could be reused at once by a socket or a database file.
        self._wake_lock = threading.Lock()
        self._wake_fd: int | None = None
        self._books_from_desk = books_from_desk
        self._books: BookSender | None = None

    def notify(self, symbol: str | None = None) -> None:
        """A client fill in ``symbol`` was booked (no symbol: look at the whole outbox)."""
        line = f"{SCAN_ALL if symbol is None else symbol}\n".encode("ascii", "replace")
        with self._wake_lock:
            if self._wake_fd is None:
                return  # no child right now: the next one scans the outbox when it starts
            # Under PIPE_BUF bytes, so written whole or not at all; never waits.
            with contextlib.suppress(OSError):
                os.write(self._wake_fd, line)

    def forward_book(self, raw: bytes) -> None:
        """A book from the desk's market-data process, pickled: on to the child, never
        waiting (dropped while there is no child, or while it is behind)."""
        books = self._books
        if books is not None:
            books.send(raw)

    # --- SupervisedChild ---------------------------------------------------------------------
    def _open_channels(self) -> tuple[int, ...]:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        with self._wake_lock:
            self._wake_fd = wake_write
        if not self._books_from_desk:
            return (wake_read,)
        self._books, books_read = open_book_channel()
        return (wake_read, books_read)

    def _close_channels(self) -> None:
        with self._wake_lock:
            wake, self._wake_fd = self._wake_fd, None
            if wake is not None:
                os.close(wake)
        books, self._books = self._books, None
        if books is not None:
            books.close()

    def _on_ready(self, payload: Any) -> None:
        if isinstance(payload, dict):
            for asset, total in payload.items():
                self._apply(asset, total)

    def _on_message(self, message: Any, raw: bytes) -> bool:
        if isinstance(message, tuple) and len(message) == 3 and message[0] == "hedged":
            self._apply(message[1], message[2])
            return True
        return False

    def _apply(self, asset: Any, total: Any) -> None:
        if not (isinstance(asset, str) and isinstance(total, Decimal)):
            log.error("hedge.process_message_unknown", message=repr((asset, total)))
            return
        try:
            self._on_hedged(asset, total)
        except Exception:
            log.exception("hedge.position_update_failed", asset=asset)


def _hedger_command(pipe_fd: int, *fds: int) -> list[str]:
    return [sys.executable, "-m", "desk.hedging.hedger_main", str(pipe_fd), *map(str, fds)]
