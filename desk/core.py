"""The desk core assembled: market data, pricing, quoting, risk and booking behind one port."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog

from desk.audit.batch_writers import batches_for
from desk.audit.record import ops_record
from desk.audit.store import quote_req_ids_answered_since
from desk.audit.write_behind import AuditWriter
from desk.clock import Clock, SystemClock
from desk.config.model import DeskConfig
from desk.domain.messages import (
    OrderOutcome,
    OrderRequest,
    RfqOutcome,
    RfqRequest,
    StatusReport,
    StatusRequest,
)
from desk.domain.money import fmt
from desk.execution.order_service import OrderService
from desk.hedging.engine import HedgeEngine
from desk.hedging.exposure import ExposureWatch
from desk.hedging.own_process import HedgerProcess
from desk.hedging.positions import HedgedPositions
from desk.ledger.database import is_sqlite_in_memory, make_engines, redact_url
from desk.ledger.hedge_store import HedgeStore
from desk.ledger.migrate import current_revision, head_revision
from desk.ledger.repository import Ledger
from desk.marketdata.feed import BookFeed
from desk.marketdata.own_process import FeedProcess
from desk.marketdata.snapshot import MarketSnapshot
from desk.positions.inventory import Inventory
from desk.pricing.engine import PricingEngine
from desk.pricing.volatility import VolatilityBook, VolatilitySampler
from desk.quoting.ids import IdFactory
from desk.quoting.quote_book import QuoteBook
from desk.quoting.rfq_service import RfqService
from desk.risk.credit import CreditLines, start_of_day
from desk.risk.halts import RuntimeHalts
from desk.venues.ccxt_orders import open_hedging_venues
from desk.vitals import VitalsLog

log = structlog.get_logger("desk")

# How long start-up waits for a hedger process (it waits up to 10 s for books itself).
HEDGER_READY_WAIT_S = 30.0
# How long start-up waits for the market-data process to run its feed (books follow).
FEED_READY_WAIT_S = 30.0


class SchemaNotCurrent(RuntimeError):
    """The ledger database is not migrated to the code's revision."""


class DeskCore:
    """Implements the gateway's DeskPort; owns the market-data loop."""

    def __init__(self, config: DeskConfig, clock: Clock, *, poll_market_data: bool = True) -> None:
        self.config = config
        self.clock = clock
        engines = make_engines(config.database_url)
        engine = engines.durable
        current, head = current_revision(config.database_url), head_revision()
        if current != head:
            engines.dispose()
            raise SchemaNotCurrent(
                f"ledger {redact_url(config.database_url)} is at revision {current}, code needs "
                f"{head}: run `otc-desk db upgrade`"
            )
        self.engine = engine
        self._engines = engines
        # FIX messages and ops actions reach the audit trail through this queue (trades are
        # audited inside their own transaction by the ledger), and from it a process of its
        # own writes them. Their commits need not wait for the disk: see LedgerEngines.
        self.audit = AuditWriter(batches_for(config.database_url, engines.deferred))
        self.ledger = Ledger(engine)
        self.boot_epoch = self.ledger.start_boot(clock.now(), socket.gethostname(), os.getpid())
        self.ids = IdFactory(self.boot_epoch)
        self.snapshot = MarketSnapshot()
        self.quote_book = QuoteBook(timedelta(seconds=config.quote_retention_s))
        now = clock.now()
        day_start = start_of_day(now)
        self.credit = CreditLines(
            {cp: self.ledger.traded_notional(cp, day_start) for cp in config.counterparties},
            now,
        )
        self.hedge_store = HedgeStore(engine, engines.deferred)
        hedged = self.hedge_store.hedged_positions()
        self.inventory = Inventory(self._client_inventory(hedged), hedged)
        self.halts = RuntimeHalts(self.record_ops)
        symbols = sorted(config.instruments)
        self.volatility = VolatilityBook(symbols, config.pricing)
        self.pricing = PricingEngine(config, self.snapshot, clock, self.inventory, self.volatility)
        self._vol_sampler = VolatilitySampler(
            self.volatility, symbols, self.pricing.composite_mid, config.pricing, clock
        )
        self.rfqs = RfqService(
            config, self.pricing, clock, self.ids, self.quote_book, self.credit, self.halts
        )
        with engine.connect() as conn:
            used = quote_req_ids_answered_since(conn, day_start)
        self.rfqs.restore_quote_req_ids(now, used)
        self.feed = self._feed() if poll_market_data else None
        self.hedger = self._hedger(hedged) if config.hedging.enabled and poll_market_data else None
        self.exposure = (
            None
            if self.hedger is None
            else ExposureWatch(
                config, self.pricing.composite_mid, self.inventory, self.halts, clock
            )
        )
        self.orders = OrderService(
            config,
            self.ledger,
            clock,
            self.ids,
            self.quote_book,
            self.credit,
            self.inventory,
            on_booked=None if self.hedger is None else self.hedger.notify,
        )
        self.vitals = VitalsLog(
            config.vitals_interval_s, lambda: len(self.quote_book), self.audit.pending, clock
        )
        log.info(
            "desk.started",
            boot_epoch=self.boot_epoch,
            database=redact_url(config.database_url),
            instruments=sorted(config.instruments),
            venues=[v.name for v in config.venues],
            quote_req_ids_today=sum(len(ids) for ids in used.values()),
        )

    def _client_inventory(self, hedged: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """Net position per base asset from the client fills: every booked fill's, less
        the exchange fills' (``hedged``, read before: nothing hedges yet)."""
        net: dict[str, Decimal] = {asset: -total for asset, total in hedged.items()}
        for symbol, position in self.hedge_store.positions_by_symbol().items():
            base = symbol.partition("/")[0]
            net[base] = net.get(base, Decimal(0)) + position
        return net

    def _hedger(self, hedged: Mapping[str, Decimal]) -> HedgeEngine | HedgerProcess:
        """The hedger in a process of its own where it can be, else on a thread of ours."""
        config = self.config
        if (
            config.hedging.process
            and not is_sqlite_in_memory(config.database_url)
            and isinstance(self.clock, SystemClock)
        ):
            if not isinstance(self.feed, FeedProcess):
                return HedgerProcess(config, self._hedged)
            # One feed for both: the hedger takes the books the desk receives.
            hedger = HedgerProcess(config, self._hedged, books_from_desk=True)
            self.feed.forward_to(hedger.forward_book)
            return hedger
        return HedgeEngine(
            config,
            self.hedge_store,
            open_hedging_venues(config),
            self.pricing,
            HedgedPositions(hedged, self._hedged),
            self.clock,
        )

    def _feed(self) -> BookFeed | FeedProcess:
        """The market-data feed in a process of its own where it can be, else on a thread."""
        config = self.config
        symbols = sorted(config.instruments)
        if config.market_data.process and isinstance(self.clock, SystemClock):
            return FeedProcess(
                config.venues, symbols, config.market_data, self.snapshot, self.clock
            )
        return BookFeed(config.venues, symbols, config.market_data, self.snapshot, self.clock)

    def _hedged(self, asset: str, total: Decimal) -> None:
        """The hedger's exchange fills in ``asset`` now net to ``total``."""
        net = self.inventory.set_hedged(asset, total)
        log.info("position.hedged", asset=asset, hedged_position=fmt(total), desk_position=fmt(net))

    def record_ops(self, action: str, details: Mapping[str, Any]) -> None:
        """Queue an ops action for the audit trail (no I/O on the caller's thread)."""
        self.audit.submit(ops_record(self.clock.now(), action, details))

    def start(self) -> None:
        # A hedger process takes a second or two to start: it goes first, and is waited for
        # last, so that the desk is hedging by the time it takes orders.
        if isinstance(self.hedger, HedgerProcess):
            self.hedger.start()
        self.audit.start()
        self.record_ops(
            "desk.start",
            {"boot_epoch": self.boot_epoch, "host": socket.gethostname(), "pid": os.getpid()},
        )
        if self.feed is not None:
            self.feed.start()
        self._vol_sampler.start()
        if isinstance(self.hedger, HedgeEngine):
            self.hedger.start()  # on a thread of ours, after the feed it reads
        if self.exposure is not None:
            self.exposure.start()
        self.orders.start()
        self.vitals.start()
        if isinstance(self.feed, FeedProcess) and not self.feed.wait_ready(FEED_READY_WAIT_S):
            # It keeps trying; until books arrive every RFQ is refused for want of a market.
            log.warning("desk.feed_not_ready", waited_s=FEED_READY_WAIT_S)
        if isinstance(self.hedger, HedgerProcess) and not self.hedger.wait_ready(
            HEDGER_READY_WAIT_S
        ):
            # Orders are booked meanwhile; their hedges wait in the outbox for the hedger.
            log.warning("desk.hedger_not_ready", waited_s=HEDGER_READY_WAIT_S)

    def stop(self) -> None:
        self.vitals.stop()
        self.orders.stop()  # every queued order booked and answered
        if self.exposure is not None:
            self.exposure.stop()
        if self.hedger is not None:
            self.hedger.stop()
        self._vol_sampler.stop()
        if self.feed is not None:
            self.feed.stop()
        self.record_ops("desk.stop", {"boot_epoch": self.boot_epoch})
        self.audit.stop()  # writes everything still queued
        self._engines.dispose()
        log.info("desk.stopped", boot_epoch=self.boot_epoch)

    # --- DeskPort ----------------------------------------------------------------------
    def request_quote(self, request: RfqRequest) -> RfqOutcome:
        if request.counterparty not in self.config.counterparties:
            raise KeyError(f"unknown counterparty {request.counterparty}")
        return self.rfqs.handle(request)

    def rfq_answered(self, request: RfqRequest, outcome: RfqOutcome) -> None:
        self.rfqs.answered(request, outcome)

    def place_order(self, order: OrderRequest, reply: Callable[[OrderOutcome], None]) -> None:
        if order.counterparty not in self.config.counterparties:
            raise KeyError(f"unknown counterparty {order.counterparty}")
        self.orders.submit(order, reply)

    def order_status(self, request: StatusRequest) -> StatusReport:
        return self.orders.status(request)
