"""Working one hedge batch: clips on schedule, routed across venues, every order idempotent.

Order of operations for each exchange order: write it down (PENDING_NEW) with its
deterministic client order id, send it, book its fills, record its final state. An ambiguous
answer (timeout, 5xx) is resolved by querying that client order id before anything is resent;
only an id the venue says it never accepted is placed again, under the same id, which the
venue would refuse if it did exist: no order can exist twice. After a restart the same rules
resolve whatever was in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import structlog

from desk.clock import Clock
from desk.config.model import HedgingConfig, InstrumentConfig
from desk.domain.money import fmt
from desk.hedging.client_ids import hedge_client_order_id
from desk.hedging.positions import HedgedPositions
from desk.hedging.quality import batch_result
from desk.hedging.router import route
from desk.hedging.schedule import clip_schedule
from desk.ledger.hedge_store import BatchRecord, BookedFill, HedgeOrderRecord, HedgeStore
from desk.pricing.composite import NoMarket
from desk.pricing.engine import PricingEngine
from desk.venues.errors import (
    AmbiguousOrderOutcome,
    InsufficientBalance,
    PermanentVenueError,
    RateLimited,
    TransientVenueError,
)
from desk.venues.orders import ExchangeOrderState, VenueOrders, exchange_fill_event

log = structlog.get_logger("desk.hedging")

_FINAL = {"FILLED", "CANCELED", "REJECTED", "EXPIRED"}
_BACKOFF_S = 0.2


class HedgeFailed(Exception):
    """The batch cannot be completed; the reason goes to hedge.failed and the batch row."""


@dataclass
class HedgeContext:
    """What every batch worker shares."""

    config: HedgingConfig
    instruments: Mapping[str, InstrumentConfig]
    store: HedgeStore
    venues: Mapping[str, VenueOrders]
    venue_order: tuple[str, ...]
    taker_fee_bps: Mapping[str, Decimal]
    pricing: PricingEngine
    hedged: HedgedPositions
    clock: Clock
    instance_tag: str


class BatchWorker:
    """Runs one batch to DONE or FAILED; safe to start again on a half-done batch."""

    def __init__(self, batch: BatchRecord, ctx: HedgeContext, *, new: bool = False) -> None:
        """``new``: the batch was just opened, so it has no orders yet and nothing to read
        back before its first clip (a resumed batch reads what it already did)."""
        self._batch = batch
        self._new = new
        self._ctx = ctx
        self._inst = ctx.instruments[batch.symbol]
        self._log = log.bind(hedge_id=batch.id, symbol=batch.symbol, side=batch.side.value)
        self._excluded: set[str] = set()
        # A new batch's orders and fills are all this worker's own, so it keeps them as it
        # writes them instead of reading them back after every clip and at the end. A resumed
        # batch reads the ledger: the run before the restart may have booked more.
        self._own_fills: dict[str, BookedFill] | None = {} if new else None
        self._own_orders = 0  # counted only while _own_fills is kept

    async def run(self) -> None:
        batch = self._batch
        self._log.info(
            "hedge.started",
            qty=fmt(batch.qty),
            algo=batch.algo,
            arrival_mid=None if batch.arrival_mid is None else fmt(batch.arrival_mid),
            trade_ids=list(batch.trade_ids),
        )
        try:
            await self._work()
        except HedgeFailed as exc:
            self._finish("FAILED", str(exc))
            return
        self._finish("DONE", None)

    async def _work(self) -> None:
        batch = self._batch
        existing = [] if self._new else self._ctx.store.orders_of(batch.id)
        for order in existing:
            if order.status not in _FINAL:
                await self._settle(order)
        schedule = clip_schedule(self._ctx.config, batch.qty, self._inst.lot)
        next_clip = 1 + max((o.clip_no for o in existing), default=-1)
        total = schedule_total = sum((c.qty for c in schedule), Decimal(0))
        # Clips past the schedule (a venue refused, a book ran out) keep going until the size
        # is done or the attempts are used up.
        extra = 0
        clip_no = next_clip
        nothing_filled_yet = self._new
        while True:
            remaining = total if nothing_filled_yet else total - self._filled()
            nothing_filled_yet = False
            if remaining < self._inst.min_qty:
                return
            if clip_no < len(schedule):
                await self._wait_for(schedule[clip_no].offset_s)
                clip_qty = min(schedule[clip_no].qty, remaining)
                if clip_no == len(schedule) - 1:
                    clip_qty = remaining
            else:
                extra += 1
                if extra > self._ctx.config.max_attempts:
                    raise HedgeFailed(
                        f"{fmt(remaining)} of {fmt(schedule_total)} {self._inst.base} still "
                        f"unhedged after {extra - 1} extra clips"
                    )
                await asyncio.sleep(_BACKOFF_S * extra)
                clip_qty = remaining
            await self._clip(clip_no, clip_qty)
            clip_no += 1

    def _filled(self) -> Decimal:
        return sum((f.qty for f in self._orders_and_fills()[1]), Decimal(0))

    def _orders_and_fills(self) -> tuple[int, list[BookedFill]]:
        """How many exchange orders the batch has, and every fill booked for them."""
        if self._own_fills is not None:
            return self._own_orders, list(self._own_fills.values())
        ids = [o.client_order_id for o in self._ctx.store.orders_of(self._batch.id)]
        return len(ids), self._ctx.store.exchange_fills_of(ids)

    async def _wait_for(self, offset_s: float) -> None:
        opened = self._batch.created_at
        due = offset_s - (self._ctx.clock.now() - opened).total_seconds()
        if due > 0:
            await asyncio.sleep(due)

    async def _clip(self, clip_no: int, qty: Decimal) -> None:
        ctx = self._ctx
        try:
            healthy = ctx.pricing.healthy(self._batch.symbol)
            books = [b for b in healthy.books if b.venue not in self._excluded]
        except NoMarket:
            books = []
        books = [b for b in books if b.venue in ctx.venues]
        if not books:
            usable = [v for v in ctx.venue_order if v not in self._excluded]
            if not usable:
                raise HedgeFailed("no venue left to hedge on")
            self._log.warning("hedge.no_books", clip=clip_no, venue=usable[0])
            allocation = {usable[0]: qty}
        else:
            allocation = route(
                qty,
                self._batch.side,
                books,
                ctx.taker_fee_bps,
                self._inst.lot,
                self._inst.min_qty,
            )
        await asyncio.gather(
            *(self._order(clip_no, venue, venue_qty) for venue, venue_qty in allocation.items())
        )

    async def _order(self, clip_no: int, venue: str, qty: Decimal) -> None:
        ctx = self._ctx
        venue_index = ctx.venue_order.index(venue)
        cid = hedge_client_order_id(ctx.instance_tag, self._batch.id, clip_no, venue_index)
        order = HedgeOrderRecord(
            client_order_id=cid,
            batch_id=self._batch.id,
            clip_no=clip_no,
            venue=venue,
            symbol=self._batch.symbol,
            side=self._batch.side,
            qty=qty,
            status="PENDING_NEW",
            exchange_order_id=None,
            filled_qty=Decimal(0),
        )
        now = ctx.clock.now()
        ctx.store.record_order(order, now)
        self._own_orders += 1
        await self._settle(order, send=True)

    async def _settle(self, order: HedgeOrderRecord, *, send: bool = False) -> None:
        """Bring ``order`` to a final, booked state; place it only if the venue never had it."""
        ctx = self._ctx
        venue = ctx.venues[order.venue]
        bound = self._log.bind(client_order_id=order.client_order_id, venue=order.venue)
        attempts = 0
        while True:
            attempts += 1
            try:
                state = (
                    None
                    if send
                    else await venue.order_by_client_id(order.symbol, order.client_order_id)
                )
                if state is None:
                    bound.info("hedge.order.sent", qty=fmt(order.qty), attempt=attempts)
                    state = await venue.place_market(
                        order.symbol, order.side, order.qty, order.client_order_id
                    )
                self._record(order, state)
                return
            except InsufficientBalance as exc:
                self._reject(order, str(exc))
                return
            except PermanentVenueError as exc:
                self._reject(order, str(exc))
                raise HedgeFailed(f"{order.venue} refused {order.client_order_id}: {exc}") from exc
            except RateLimited as exc:
                bound.warning("hedge.order.rate_limited", retry_after_s=exc.retry_after_s)
                await asyncio.sleep(exc.retry_after_s)
            except AmbiguousOrderOutcome as exc:
                bound.warning("hedge.order.ambiguous", error=str(exc))
                await asyncio.sleep(_BACKOFF_S)
            except TransientVenueError as exc:
                bound.warning("hedge.order.retry", error=str(exc))
                await asyncio.sleep(_BACKOFF_S * min(attempts, 10))
            # Whatever happened, the next round asks the venue before it sends anything.
            send = False
            if attempts >= ctx.config.max_attempts * 4:
                ctx.store.update_order(
                    order.client_order_id,
                    status="UNKNOWN",
                    filled_qty=order.filled_qty,
                    exchange_order_id=order.exchange_order_id,
                    at=ctx.clock.now(),
                    error="venue unreachable; status unknown",
                )
                raise HedgeFailed(
                    f"{order.venue} never confirmed {order.client_order_id}; its status is "
                    "unknown, so nothing more is sent for this batch"
                )

    def _record(self, order: HedgeOrderRecord, state: ExchangeOrderState) -> None:
        ctx = self._ctx
        now = ctx.clock.now()
        for fill in state.fills:
            event = exchange_fill_event(fill)
            booked = ctx.store.book_fill_event(event, now)
            if self._own_fills is not None:  # booked now or before: in the ledger either way
                self._own_fills[event.booking_key] = BookedFill(
                    fill.qty, fill.price, fill.fee, fill.fee_currency
                )
            if booked:
                hedged = ctx.hedged.apply(event.base, event.signed_qty)
                self._log.info(
                    "hedge.fill",
                    client_order_id=fill.client_order_id,
                    venue=fill.venue,
                    trade_id=fill.trade_id,
                    qty=fmt(fill.qty),
                    price=fmt(fill.price),
                    fee=fmt(fill.fee),
                    fee_currency=fill.fee_currency,
                    hedged_position=fmt(hedged),
                )
        ctx.store.update_order(
            order.client_order_id,
            status=state.status.value,
            filled_qty=state.filled_qty,
            exchange_order_id=state.exchange_order_id,
            at=now,
        )

    def _reject(self, order: HedgeOrderRecord, reason: str) -> None:
        self._excluded.add(order.venue)
        self._log.warning(
            "hedge.order.rejected",
            client_order_id=order.client_order_id,
            venue=order.venue,
            reason=reason,
        )
        self._ctx.store.update_order(
            order.client_order_id,
            status="REJECTED",
            filled_qty=Decimal(0),
            exchange_order_id=None,
            at=self._ctx.clock.now(),
            error=reason,
        )

    def _finish(self, status: str, error: str | None) -> None:
        ctx, batch = self._ctx, self._batch
        order_count, booked_fills = self._orders_and_fills()
        result = batch_result(
            batch.side,
            batch.arrival_mid,
            booked_fills,
            self._inst.quote,
            self._inst.base,
            status=status,
            error=error,
        )
        now = ctx.clock.now()
        ctx.store.finish_batch(batch.id, result, now)
        fields = {
            "qty": fmt(batch.qty),
            "filled_qty": fmt(result.filled_qty),
            "avg_price": None if result.avg_price is None else fmt(result.avg_price),
            "slippage_bps": None if result.slippage_bps is None else fmt(result.slippage_bps),
            "fee_bps": None if result.fee_bps is None else fmt(result.fee_bps),
            "orders": order_count,
            "duration_ms": int((now - batch.created_at).total_seconds() * 1000),
        }
        if status == "DONE":
            self._log.info("hedge.completed", **fields)
        else:
            self._log.error("hedge.failed", error=error, **fields)
