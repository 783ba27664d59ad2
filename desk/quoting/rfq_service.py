"""Answering a QuoteRequest: checks in ROE order, pricing from the in-memory snapshot only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import structlog

from desk.clock import Clock
from desk.config.model import CounterpartyConfig, DeskConfig, InstrumentConfig, TierConfig
from desk.domain.messages import QuoteIssued, RfqOutcome, RfqRejected, RfqRequest
from desk.domain.money import fmt, round_down, round_up, within_ledger_range
from desk.domain.rejects import RfqRejectCode, reject_text
from desk.domain.side import Side
from desk.pricing.composite import NoMarket
from desk.pricing.depth import ExcessSlippage
from desk.pricing.engine import PricingEngine
from desk.quoting.ids import IdFactory
from desk.quoting.quote_book import QuoteBook
from desk.quoting.quote_req_ids import QuoteReqIdRegistry
from desk.risk.credit import CreditLines
from desk.risk.halts import RuntimeHalts
from desk.risk.rate_limit import TokenBucket

log = structlog.get_logger("desk.rfq")

MAX_QUOTE_REQ_ID_LEN = 64


class _Reject(Exception):
    def __init__(self, code: RfqRejectCode, explanation: str) -> None:
        super().__init__(explanation)
        self.code = code
        self.explanation = explanation


class RfqService:
    """Turns an RfqRequest into a Quote or a reject; never touches the disk or the network."""

    def __init__(
        self,
        config: DeskConfig,
        pricing: PricingEngine,
        clock: Clock,
        ids: IdFactory,
        quote_book: QuoteBook,
        credit: CreditLines,
        halts: RuntimeHalts | None = None,
    ) -> None:
        self._config = config
        self._halts = halts if halts is not None else RuntimeHalts()
        self._pricing = pricing
        self._clock = clock
        self._ids = ids
        self._quote_book = quote_book
        self._credit = credit
        self._quote_req_ids = QuoteReqIdRegistry()
        start = clock.monotonic()
        self._buckets = {
            cp.comp_id: TokenBucket(cp.rfq_rate_per_s, cp.rfq_burst, start)
            for cp in config.counterparties.values()
        }

    def restore_quote_req_ids(self, now: datetime, used: Mapping[str, Iterable[str]]) -> None:
        """QuoteReqIDs already used on ``now``'s day (read back from the audit trail)."""
        self._quote_req_ids.restore(now, used)

    def handle(self, request: RfqRequest) -> RfqOutcome:
        """Quote or reject ``request``. Nothing is logged here: ``answered`` logs the outcome
        once the gateway has sent it, so that the log line is not on the quote's path."""
        try:
            quote = self._quote(request)
        except _Reject as rej:
            return RfqRejected(
                request=request, code=rej.code, text=reject_text(rej.code, rej.explanation)
            )
        self._quote_book.add(quote)
        return quote

    def answered(self, request: RfqRequest, outcome: RfqOutcome) -> None:
        """Log the answer sent to ``request``: one event per RFQ, quote.sent or rfq.rejected,
        carrying the request's terms."""
        if isinstance(outcome, RfqRejected):
            log.info(
                "rfq.rejected",
                **_request_terms(request),
                code=outcome.code.name,
                reason=outcome.code.fix_reason,
                text=outcome.text,
            )
            return
        log.info(
            "quote.sent",
            **_request_terms(request),
            quote_id=outcome.quote_id,
            qty=fmt(outcome.qty),
            bid_px=None if outcome.bid_px is None else fmt(outcome.bid_px),
            offer_px=None if outcome.offer_px is None else fmt(outcome.offer_px),
            valid_until=outcome.valid_until.isoformat(timespec="milliseconds"),
            **(outcome.pricing.as_log() if outcome.pricing is not None else {}),
        )

    def _quote(self, request: RfqRequest) -> QuoteIssued:
        now = request.received_at
        cp_id = request.counterparty
        if not self._buckets[cp_id].try_take(self._clock.monotonic()):
            raise _Reject(RfqRejectCode.RATE_LIMITED, "too many quote requests, slow down")
        if len(request.quote_req_id) > MAX_QUOTE_REQ_ID_LEN:
            raise _Reject(
                RfqRejectCode.BAD_REQUEST, f"QuoteReqID longer than {MAX_QUOTE_REQ_ID_LEN} chars"
            )
        if not self._quote_req_ids.first_use(cp_id, request.quote_req_id, now):
            raise _Reject(
                RfqRejectCode.DUPLICATE_QUOTEREQID,
                f"QuoteReqID {request.quote_req_id} was already used today",
            )
        if request.streaming:
            raise _Reject(RfqRejectCode.BAD_REQUEST, "streaming quotes are not offered yet")
        inst = self._config.instruments.get(request.symbol)
        if inst is None or not inst.enabled:
            raise _Reject(RfqRejectCode.UNKNOWN_SYMBOL, f"{request.symbol} is not quoted")
        counterparty = self._config.counterparties[cp_id]
        if request.symbol not in counterparty.allowed_symbols:
            raise _Reject(RfqRejectCode.NOT_AUTHORIZED, f"{request.symbol} is not permitted")
        if self._config.halted or inst.halted or counterparty.halted:
            raise _Reject(RfqRejectCode.HALTED, f"quoting is halted for {request.symbol}")
        halted_because = self._halts.reason(inst.symbol)
        if halted_because is not None:
            raise _Reject(
                RfqRejectCode.HALTED, f"quoting is halted for {request.symbol}: {halted_because}"
            )
        if (request.order_qty is None) == (request.cash_order_qty is None):
            raise _Reject(
                RfqRejectCode.BAD_REQUEST, "exactly one of OrderQty(38) and CashOrderQty(152)"
            )
        try:
            books = self._pricing.healthy(inst.symbol)
        except NoMarket as exc:
            raise _Reject(RfqRejectCode.NO_MARKET, exc.reason) from None
        top = books.top()
        # Cash converts at the side the client trades against: a buyer pays the ask, a seller
        # gets the bid; a two-way request uses the ask, the smaller base size of the two.
        conversion_px = top.bid if request.side is Side.SELL else top.ask
        tier = self._config.tiers[counterparty.tier]
        qty = self._base_qty(request, inst, conversion_px, tier)
        notional = qty * top.fair
        self._check_notional(request, inst, counterparty, tier, notional)
        bid_wanted, offer_wanted = self._quotable_sides(request, inst, qty)
        try:
            price = self._pricing.price(inst, tier, books, qty)
        except ExcessSlippage as exc:
            raise _Reject(
                RfqRejectCode.SIZE_ABOVE_MAX,
                f"{fmt(qty)} {inst.base} exceeds the {fmt(exc.available)} {inst.base} hedgeable "
                f"within {fmt(exc.limit_bps)} bps of the best price",
            ) from None
        if bid_wanted and price.bid <= 0:
            raise _Reject(RfqRejectCode.NO_MARKET, f"no positive bid for {fmt(qty)} {inst.base}")
        valid_until = _truncate_ms(now + timedelta(milliseconds=inst.quote_ttl_ms))
        return QuoteIssued(
            quote_id=self._ids.quote_id(),
            quote_req_id=request.quote_req_id,
            counterparty=cp_id,
            account=request.account,
            symbol=inst.symbol,
            currency=inst.quote,
            side=request.side,
            qty=qty,
            bid_px=price.bid if bid_wanted else None,
            offer_px=price.offer if offer_wanted else None,
            valid_until=valid_until,
            transact_time=now,
            indicative=request.indicative,
            pricing=price.inputs,
        )

    def _check_notional(
        self,
        request: RfqRequest,
        inst: InstrumentConfig,
        counterparty: CounterpartyConfig,
        tier: TierConfig,
        notional: Decimal,
    ) -> None:
        limits = [inst.max_notional, counterparty.max_notional]
        if tier.max_notional is not None:
            limits.append(tier.max_notional)
        max_notional = min(limits)
        if notional > max_notional:
            raise _Reject(
                RfqRejectCode.NOTIONAL_LIMIT,
                f"notional {fmt(notional.quantize(inst.tick))} {inst.quote} exceeds max "
                f"{fmt(max_notional)} {inst.quote}",
            )
        if not request.indicative:
            used = self._credit.used(counterparty.comp_id, request.received_at)
            if used + notional > counterparty.credit_limit:
                raise _Reject(
                    RfqRejectCode.CREDIT_LIMIT,
                    f"notional {fmt(notional.quantize(inst.tick))} {inst.quote} with "
                    f"{fmt(used)} used exceeds credit line {fmt(counterparty.credit_limit)}",
                )

    def _quotable_sides(
        self, request: RfqRequest, inst: InstrumentConfig, qty: Decimal
    ) -> tuple[bool, bool]:
        """Which of bid and offer to show: those asked for, less a side that would take the
        desk's inventory beyond its limit (a client buy makes the desk shorter)."""
        bid_wanted = request.side is not Side.BUY
        offer_wanted = request.side is not Side.SELL
        limit = inst.inventory_limit
        if limit is None:
            return bid_wanted, offer_wanted
        net = self._pricing.inventory.net(inst.base)
        bid_ok = bid_wanted and net + qty <= limit
        offer_ok = offer_wanted and net - qty >= -limit
        if not (bid_ok or offer_ok):
            after = net + qty if bid_wanted else net - qty
            raise _Reject(
                RfqRejectCode.INVENTORY_LIMIT,
                f"the desk's {inst.base} position {fmt(net)} would become {fmt(after)}, beyond "
                f"its limit of {fmt(limit)} {inst.base} either way",
            )
        return bid_ok, offer_ok

    def _base_qty(
        self, request: RfqRequest, inst: InstrumentConfig, conversion_px: Decimal, tier: TierConfig
    ) -> Decimal:
        given = request.order_qty if request.order_qty is not None else request.cash_order_qty
        if given is None or given <= 0 or not within_ledger_range(given):
            raise _Reject(RfqRejectCode.BAD_REQUEST, f"size {given} is out of range")
        raw = given if request.order_qty is not None else given / conversion_px
        # Sizes round down to the lot: the desk never quotes more than was asked for.
        qty = round_down(raw, inst.lot)
        if qty < inst.min_qty:
            raise _Reject(
                RfqRejectCode.SIZE_BELOW_MIN,
                f"{fmt(qty)} {inst.base} is below min {fmt(inst.min_qty)} {inst.base}",
            )
        max_qty, whose = inst.max_qty, ""
        tier_max = tier.max_qty.get(inst.symbol)
        if tier_max is not None and tier_max < max_qty:
            max_qty, whose = tier_max, f" for the {tier.name} tier"
        if qty > max_qty:
            raise _Reject(
                RfqRejectCode.SIZE_ABOVE_MAX,
                f"{fmt(round_up(raw, inst.lot))} {inst.base} exceeds max "
                f"{fmt(max_qty)} {inst.base}{whose}",
            )
        return qty


def _request_terms(request: RfqRequest) -> dict[str, object]:
    """The request as logged: who asked, for what, how much."""
    return {
        "counterparty": request.counterparty,
        "quote_req_id": request.quote_req_id,
        "symbol": request.symbol,
        "side": request.side,
        "order_qty": None if request.order_qty is None else fmt(request.order_qty),
        "cash_order_qty": None if request.cash_order_qty is None else fmt(request.cash_order_qty),
        "indicative": request.indicative,
        "account": request.account,
    }


def _truncate_ms(moment: datetime) -> datetime:
    """ValidUntilTime goes out with millisecond precision; keep the same instant internally."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
