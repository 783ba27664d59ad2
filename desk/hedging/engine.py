"""The hedge engine: an asyncio loop in its own thread that drains the hedge-intent outbox.

Woken at once when a client fill is booked (``notify``) and every ``poll_ms`` otherwise, it
resumes batches left WORKING by an earlier run and opens one batch per instrument with
pending intents (never two at once for one instrument: the next batch nets whatever arrived
meanwhile), and at most one per instrument every ``net_window_ms``: under a stream of fills
each batch nets the fills of its window instead of one or two, so every venue order, its
booking and its ledger rows serve many client fills; an isolated fill is hedged at once.
Woken for a booking, it looks only at that booking's instrument; every poll it
asks the outbox for every instrument with pending intents (left by a restart, or by another
desk process on the same database). It runs in the desk's process or in one of its own
(``desk.hedging.process``); the unhedged-exposure alert stays in the desk's
(``desk.hedging.exposure``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from decimal import Decimal

import structlog

from desk.clock import Clock
from desk.config.model import DeskConfig
from desk.hedging.batch_worker import BatchWorker, HedgeContext
from desk.hedging.positions import HedgedPositions
from desk.ledger.hedge_store import BatchRecord, HedgeStore
from desk.pricing.engine import PricingEngine
from desk.venues.errors import VenueError
from desk.venues.orders import VenueOrders

log = structlog.get_logger("desk.hedging")
# The arrival mid is a weighted average with up to 28 digits; the ledger keeps 18 decimals.
_MID_PLACES = Decimal("1e-12")


class HedgeEngine:
    """Owns the hedging loop; ``start``/``stop`` from any thread, ``notify`` after a booking."""

    def __init__(
        self,
        config: DeskConfig,
        store: HedgeStore,
        venues: Mapping[str, VenueOrders],
        pricing: PricingEngine,
        hedged: HedgedPositions,
        clock: Clock,
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self._ctx = HedgeContext(
            config=config.hedging,
            instruments=config.instruments,
            store=store,
            venues=venues,
            venue_order=tuple(v.name for v in config.venues),
            taker_fee_bps={v.name: v.taker_fee_bps for v in config.venues},
            pricing=pricing,
            hedged=hedged,
            clock=clock,
            instance_tag=store.instance_tag(),
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._active: dict[str, asyncio.Task[None]] = {}
        # Instruments booked since they were last looked at (the hedger's thread only); one
        # with a batch still working stays here until that batch ends.
        self._due: set[str] = set()
        self._scan_outbox = True
        # When each instrument's last batch opened (the loop's clock), and the wake-up
        # set for an instrument held back by the netting window.
        self._opened_at: dict[str, float] = {}
        self._held: dict[str, asyncio.TimerHandle] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hedger", daemon=True)
        self._thread.start()
        self._started.wait(5)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking new batches, let running ones reach a safe point, close the venues."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def notify(self, symbol: str | None = None) -> None:
        """A client fill in ``symbol`` was booked: hedge it now rather than at the next poll
        (no symbol: look at the whole outbox now)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._booked, symbol)

    def _booked(self, symbol: str | None) -> None:
        if symbol is None:
            self._scan_outbox = True
        else:
            self._due.add(symbol)
        if self._wake is not None:
            self._wake.set()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._started.set()
        # Orders need not wait for this: one that comes first loads what it needs itself.
        preparing = [asyncio.ensure_future(self._prepare(v)) for v in self._ctx.venues.values()]
        try:
            for batch in self._store.working_batches():
                log.info("hedge.resumed", hedge_id=batch.id, symbol=batch.symbol)
                self._spawn(batch)
            poll_s = self._config.hedging.poll_ms / 1000
            while not self._stopping.is_set():
                try:
                    self._open_batches()
                except Exception:
                    self._scan_outbox = True  # whatever was due is found again by the scan
                    log.exception("hedge.loop_failed")
                wake = asyncio.ensure_future(self._wake.wait())
                stop = asyncio.ensure_future(self._stopping.wait())
                done, _ = await asyncio.wait(
                    {wake, stop}, timeout=poll_s, return_when="FIRST_COMPLETED"
                )
                if not done:
                    self._scan_outbox = True  # a poll, not a booking
                wake.cancel()
                stop.cancel()
                self._wake.clear()
        finally:
            # Cancelling mid-order is safe: the order row is written before it is sent and a
            # restart resolves it by its client order id.
            for timer in self._held.values():
                timer.cancel()
            for task in (*self._active.values(), *preparing):
                task.cancel()
            await asyncio.gather(*self._active.values(), *preparing, return_exceptions=True)
            for venue in self._ctx.venues.values():
                try:
                    await venue.close()
                except Exception:
                    log.exception("hedge.venue_close_failed")

    async def _prepare(self, venue: VenueOrders) -> None:
        try:
            await venue.prepare()
        except VenueError as exc:
            # Not fatal: the first order loads what it needs, and says so if it cannot.
            log.warning("hedge.venue_prepare_failed", venue=venue.venue, error=str(exc))

    def _open_batches(self) -> None:
        if self._scan_outbox:
            self._scan_outbox = False
            self._due.update(self._store.symbols_with_pending_intents())
        for symbol in sorted(self._due):
            if symbol in self._active:
                continue  # its batch's end wakes the loop, and the symbol is still due
            if self._held_back(symbol):
                continue  # a timer wakes the loop when its window ends; still due
            self._due.discard(symbol)
            if symbol not in self._config.instruments:
                continue
            inst = self._config.instruments[symbol]
            mid = self._ctx.pricing.composite_mid(symbol)
            batch = self._store.open_batch(
                symbol,
                self._config.hedging.algo,
                None if mid is None else mid.quantize(_MID_PLACES),
                self._clock.now(),
                inst.lot,
            )
            if batch is not None:
                self._opened_at[symbol] = asyncio.get_running_loop().time()
                self._spawn(batch, new=True)

    def _held_back(self, symbol: str) -> bool:
        """Whether ``symbol``'s last batch opened less than ``net_window_ms`` ago; if so, the
        loop is woken when the window ends (once per window, however many fills arrive)."""
        opened = self._opened_at.get(symbol)
        if opened is None:
            return False
        loop = asyncio.get_running_loop()
        left = opened + self._config.hedging.net_window_ms / 1000 - loop.time()
        if left <= 0:
            return False
        if symbol not in self._held:
            self._held[symbol] = loop.call_later(left, self._window_ended, symbol)
        return True

    def _window_ended(self, symbol: str) -> None:
        del self._held[symbol]
        if self._wake is not None:
            self._wake.set()

    def _spawn(self, batch: BatchRecord, *, new: bool = False) -> None:
        task = asyncio.ensure_future(self._work(batch, new))
        self._active[batch.symbol] = task

    async def _work(self, batch: BatchRecord, new: bool) -> None:
        try:
            await BatchWorker(batch, self._ctx, new=new).run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hedge.worker_crashed", hedge_id=batch.id, symbol=batch.symbol)
        finally:
            if self._active.get(batch.symbol) is asyncio.current_task():
                del self._active[batch.symbol]
            if self._wake is not None:
                self._wake.set()  # intents may have queued behind this batch
