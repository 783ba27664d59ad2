"""The desk core assembled: market data, pricing, quoting, risk and booking behind one port."""

from __future__ import annotations

import os
import socket

import structlog

from desk.clock import Clock
from desk.config.model import DeskConfig
from desk.domain.messages import (
    OrderOutcome,
    OrderRequest,
    RfqOutcome,
    RfqRequest,
    StatusReport,
    StatusRequest,
)
from desk.execution.order_service import OrderService
from desk.ledger.database import make_engine, redact_url
from desk.ledger.migrate import current_revision, head_revision
from desk.ledger.repository import Ledger
from desk.marketdata.poller import BookPoller
from desk.marketdata.snapshot import MarketSnapshot
from desk.quoting.ids import IdFactory
from desk.quoting.quote_book import QuoteBook
from desk.quoting.rfq_service import RfqService
from desk.risk.credit import CreditLines, start_of_day

log = structlog.get_logger("desk")


class SchemaNotCurrent(RuntimeError):
    """The ledger database is not migrated to the code's revision."""


class DeskCore:
    """Implements the gateway's DeskPort; owns the market-data loop."""

    def __init__(self, config: DeskConfig, clock: Clock, *, poll_market_data: bool = True) -> None:
        self.config = config
        self.clock = clock
        engine = make_engine(config.database_url)
        current, head = current_revision(config.database_url), head_revision()
        if current != head:
            engine.dispose()
            raise SchemaNotCurrent(
                f"ledger {redact_url(config.database_url)} is at revision {current}, code needs "
                f"{head}: run `otc-desk db upgrade`"
            )
        self.engine = engine
        self.ledger = Ledger(engine)
        self.boot_epoch = self.ledger.start_boot(clock.now(), socket.gethostname(), os.getpid())
        self.ids = IdFactory(self.boot_epoch)
        self.snapshot = MarketSnapshot()
        self.quote_book = QuoteBook()
        now = clock.now()
        day_start = start_of_day(now)
        self.credit = CreditLines(
            {cp: self.ledger.traded_notional(cp, day_start) for cp in config.counterparties},
            now,
        )
        self.rfqs = RfqService(config, self.snapshot, clock, self.ids, self.quote_book, self.credit)
        self.orders = OrderService(
            config, self.ledger, clock, self.ids, self.quote_book, self.credit
        )
        self._poller = (
            BookPoller(
                config.venues,
                sorted(config.instruments),
                config.market_data,
                self.snapshot,
                clock,
            )
            if poll_market_data
            else None
        )
        log.info(
            "desk.started",
            boot_epoch=self.boot_epoch,
            database=redact_url(config.database_url),
            instruments=sorted(config.instruments),
            venues=[v.name for v in config.venues],
        )

    def start(self) -> None:
        if self._poller is not None:
            self._poller.start()

    def stop(self) -> None:
        if self._poller is not None:
            self._poller.stop()
        self.engine.dispose()
        log.info("desk.stopped", boot_epoch=self.boot_epoch)

    # --- DeskPort ----------------------------------------------------------------------
    def request_quote(self, request: RfqRequest) -> RfqOutcome:
        if request.counterparty not in self.config.counterparties:
            raise KeyError(f"unknown counterparty {request.counterparty}")
        return self.rfqs.handle(request)

    def place_order(self, order: OrderRequest) -> OrderOutcome:
        if order.counterparty not in self.config.counterparties:
            raise KeyError(f"unknown counterparty {order.counterparty}")
        return self.orders.handle(order)

    def order_status(self, request: StatusRequest) -> StatusReport:
        return self.orders.status(request)
