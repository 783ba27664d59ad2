"""The market-data feed in a process of its own, as the desk sees it: ``start``, ``stop``.

The child (``desk.marketdata.feed_main``) runs the same ``BookFeed`` as a desk that streams
on a thread, and sends every book it fetches; here each one is written into the desk's
snapshot with the desk's own monotonic time, so staleness is judged exactly as before, and
passed on to the hedger's process when it has one (``desk.marketdata.book_channel``). A
child that dies is started again (``desk.process.supervised``); meanwhile the books age, and
once they are older than ``stale_after_ms`` the desk refuses to quote on them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from desk.clock import Clock
from desk.config.model import MarketDataConfig, VenueConfig
from desk.log_setup import logging_settings
from desk.marketdata.book_channel import book_of
from desk.marketdata.snapshot import MarketSnapshot
from desk.process.supervised import RESTART_MIN_S, START_TIMEOUT_S, SupervisedChild


class FeedProcess(SupervisedChild):
    """Starts and restarts the feed's process and writes its books into ``snapshot``."""

    def __init__(
        self,
        venues: Sequence[VenueConfig],
        symbols: Sequence[str],
        config: MarketDataConfig,
        snapshot: MarketSnapshot,
        clock: Clock,
        *,
        start_timeout_s: float = START_TIMEOUT_S,
        restart_min_s: float = RESTART_MIN_S,
        command: Callable[[int], list[str]] | None = None,
    ) -> None:
        super().__init__(
            event_prefix="md",
            start_message=(tuple(venues), tuple(symbols), config, logging_settings()),
            command=command or _feed_command,
            start_timeout_s=start_timeout_s,
            restart_min_s=restart_min_s,
        )
        self._snapshot = snapshot
        self._clock = clock
        self._forward: Callable[[bytes], None] | None = None

    def forward_to(self, send: Callable[[bytes], None]) -> None:
        """Also pass every book on, as it came (pickled), to ``send`` (the hedger's process);
        ``send`` must not block."""
        self._forward = send

    def _on_message(self, message: Any, raw: bytes) -> bool:
        book = book_of(message)
        if book is None:
            return False
        self._snapshot.update(book, self._clock.monotonic())
        if self._forward is not None:
            self._forward(raw)
        return True


def _feed_command(pipe_fd: int) -> list[str]:
    return [sys.executable, "-m", "desk.marketdata.feed_main", str(pipe_fd)]
