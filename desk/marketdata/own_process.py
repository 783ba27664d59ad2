"""The market-data feed in a process of its own, as the desk sees it: ``start``, ``stop``.

The child (``desk.marketdata.feed_main``) runs the same ``BookFeed`` as a desk that streams
on a thread, and sends every book it fetches; here each one is written into the desk's
snapshot with the desk's own monotonic time, so staleness is judged exactly as before. A
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
from desk.marketdata.snapshot import MarketSnapshot, VenueBook
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

    def _on_message(self, message: Any) -> bool:
        if (
            type(message) is tuple
            and len(message) == 2
            and message[0] == "book"
            and type(message[1]) is VenueBook
        ):
            self._snapshot.update(message[1], self._clock.monotonic())
            return True
        return False


def _feed_command(pipe_fd: int) -> list[str]:
    return [sys.executable, "-m", "desk.marketdata.feed_main", str(pipe_fd)]
