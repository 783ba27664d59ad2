"""REST polling of one venue's book for one symbol: the fallback when its stream is down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from structlog.typing import FilteringBoundLogger

Publish = Callable[[Mapping[str, Any]], None]
"""Hands a fetched ccxt order book on (to the snapshot)."""


class RestPoller:
    """Fetches ``symbol``'s book every ``interval_s``; logs failure and recovery once each."""

    def __init__(
        self,
        exchange: Any,
        symbol: str,
        *,
        depth: int,
        interval_s: float,
        publish: Publish,
        log: FilteringBoundLogger,
    ) -> None:
        self._exchange = exchange
        self._symbol = symbol
        self._depth = depth
        self._interval_s = interval_s
        self._publish = publish
        self._log = log
        self._failing = False

    async def run(self) -> None:
        """Poll until cancelled (the feed cancels it on stop or when the stream is back)."""
        while True:
            try:
                raw = await self._exchange.fetch_order_book(self._symbol, limit=self._depth)
                self._publish(raw)
                if self._failing:
                    self._log.info("md.venue.recovered")
                    self._failing = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Logged once per outage, not per poll, so a dead venue cannot flood the log.
                if not self._failing:
                    self._log.warning("md.venue.failed", error=describe(exc))
                    self._failing = True
            await asyncio.sleep(self._interval_s)

    def end_outage(self) -> None:
        """The venue's data flows again another way: log the recovery of a failing poll."""
        if self._failing:
            self._log.info("md.venue.recovered")
            self._failing = False


def describe(exc: BaseException) -> str:
    """``Type: message`` for logs and status, bounded so a huge error body stays readable."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."
