"""One venue's book for one symbol: the depth stream, with REST polling while it is down.

States and the one log event each change writes (``venue``/``symbol`` bound):

* streaming -> polling: ``md.stream.down`` (with the error). A REST poller starts and the
  stream is retried every ``stream_retry_ms``.
* polling -> streaming: ``md.stream.recovered``. The poller is stopped before the stream's
  book is written, so an older polled book never lands after a newer streamed one.
* a sequence gap (ccxt's ``ChecksumError``): ``md.stream.resync``; the next watch makes ccxt
  resubscribe and rebuild from a fresh REST snapshot at once. Repeated gaps with no good
  update in between count as a failed stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import ccxt
from structlog.typing import FilteringBoundLogger

from desk.marketdata.feed_status import FeedStatus
from desk.marketdata.rest_poll import Publish, RestPoller, describe

# Gaps in a row (no good update between) after which the stream counts as failed.
_MAX_RESYNCS_IN_A_ROW = 3
# A (re)subscription takes a connect, the subscribe answer and a REST snapshot (ccxt tries
# that up to three times), so it may take a few request timeouts before the first book.
_ESTABLISH_TIMEOUTS = 4


class SymbolFeed:
    """Keeps one venue/symbol book flowing into the snapshot, by stream or by polling."""

    def __init__(
        self,
        exchange: Any,
        venue: str,
        symbol: str,
        *,
        poller: RestPoller,
        publish_stream: Publish,
        status: FeedStatus,
        retry_s: float,
        request_timeout_s: float,
        log: FilteringBoundLogger,
    ) -> None:
        self._exchange = exchange
        self._venue = venue
        self._symbol = symbol
        self._poller = poller
        self._publish_stream = publish_stream
        self._status = status
        self._retry_s = retry_s
        self._establish_timeout_s = request_timeout_s * _ESTABLISH_TIMEOUTS
        self._log = log
        self._poll_task: asyncio.Task[None] | None = None

    async def poll_only(self) -> None:
        """Streaming is off: poll until cancelled."""
        self._status.set_mode(self._venue, self._symbol, "polling")
        await self._poller.run()

    async def stream_with_fallback(self) -> None:
        """Watch the stream until cancelled, polling whenever it is down."""
        established = False
        resyncs = 0
        try:
            # Runs for the feed's lifetime; stop() ends it by cancelling the task.
            while True:
                try:
                    raw = await self._watch(established)
                    await self._stream_ok()
                    self._publish_stream(raw)
                except ccxt.ChecksumError as exc:
                    established = False
                    resyncs += 1
                    if resyncs <= _MAX_RESYNCS_IN_A_ROW:
                        self._log.info("md.stream.resync", error=describe(exc))
                        continue
                    await self._stream_failed(exc)
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # NetworkError (refused, closed), timeouts, exchange errors: all mean no
                    # stream for now, and the feed must never die of one.
                    established = False
                    await self._stream_failed(exc)
                    continue
                established = True
                resyncs = 0
        finally:
            await self._stop_polling()

    async def _watch(self, established: bool) -> Mapping[str, Any]:
        watching = self._exchange.watch_order_book(self._symbol)
        if established:
            # A quiet book is legitimate (the venue may be frozen): no timeout once the
            # stream runs; ccxt's keep-alive pings catch a dead connection.
            raw: Mapping[str, Any] = await watching
            return raw
        try:
            raw = await asyncio.wait_for(watching, self._establish_timeout_s)
        except TimeoutError:
            raise TimeoutError(
                f"no book within {self._establish_timeout_s:g} s of subscribing"
            ) from None
        return raw

    async def _stream_failed(self, exc: BaseException) -> None:
        error = describe(exc)
        if self._status.set_mode(self._venue, self._symbol, "polling", error):
            self._log.warning("md.stream.down", error=error)
        if self._poll_task is None:
            self._poll_task = asyncio.create_task(
                self._poller.run(), name=f"md-poll-{self._venue}-{self._symbol}"
            )
        await asyncio.sleep(self._retry_s)

    async def _stream_ok(self) -> None:
        was_polling = self._poll_task is not None
        await self._stop_polling()
        if self._status.set_mode(self._venue, self._symbol, "streaming") and was_polling:
            self._log.info("md.stream.recovered")
            # The venue is back even if its REST polls never were: close that episode too.
            self._poller.end_outage()

    async def _stop_polling(self) -> None:
        task, self._poll_task = self._poll_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
