"""The RfqService on the shipped config and hand-made books, for the RFQ unit tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from desk.clock import FakeClock
from desk.config.model import DeskConfig
from desk.domain.messages import QuoteIssued, RfqOutcome, RfqRejected
from desk.domain.rejects import RfqRejectCode
from desk.marketdata.snapshot import MarketSnapshot
from desk.positions.inventory import Inventory
from desk.pricing.engine import PricingEngine
from desk.pricing.volatility import VolatilityBook
from desk.quoting.ids import IdFactory
from desk.quoting.quote_book import QuoteBook
from desk.quoting.rfq_service import RfqService
from desk.risk.credit import CreditLines
from tests.unit.builders import filled_snapshot, with_counterparty


@dataclass
class Rig:
    service: RfqService
    clock: FakeClock
    quote_book: QuoteBook
    credit: CreditLines
    inventory: Inventory
    pricing: PricingEngine


def rig(
    config: DeskConfig,
    clock: FakeClock,
    *,
    snapshot: MarketSnapshot | None = None,
    credit_used: dict[str, Decimal] | None = None,
    inventory_net: dict[str, Decimal] | None = None,
) -> Rig:
    book = QuoteBook()
    credit = CreditLines(credit_used or {}, clock.now())
    inventory = Inventory(inventory_net)
    pricing = PricingEngine(
        config,
        snapshot if snapshot is not None else filled_snapshot(clock.monotonic()),
        clock,
        inventory,
        VolatilityBook(sorted(config.instruments), config.pricing),
    )
    service = RfqService(config, pricing, clock, IdFactory(3), book, credit)
    return Rig(service, clock, book, credit, inventory, pricing)


def margin_only(config: DeskConfig) -> DeskConfig:
    """``config`` with every pricing term but the margin switched off."""
    for comp_id in config.counterparties:
        config = with_counterparty(config, comp_id, tier="standard")
    return replace(
        config,
        venues=tuple(replace(v, taker_fee_bps=Decimal(0)) for v in config.venues),
        pricing=replace(config.pricing, vol_floor_bps=Decimal(0)),
    )


def quoted(outcome: RfqOutcome) -> QuoteIssued:
    assert isinstance(outcome, QuoteIssued), outcome
    return outcome


def rejected(outcome: RfqOutcome, code: RfqRejectCode, reason: int) -> RfqRejected:
    assert isinstance(outcome, RfqRejected), outcome
    assert outcome.code is code
    assert outcome.code.fix_reason == reason
    assert outcome.text.startswith(f"{code.name}: ")
    return outcome
