"""Accepting a NewOrderSingle on a quote: validate, book durably, then report."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import structlog

from desk.clock import Clock
from desk.config.model import DeskConfig
from desk.domain.messages import (
    OrderFilled,
    OrderOutcome,
    OrderRejected,
    OrderRequest,
    QuoteIssued,
    StatusReport,
    StatusRequest,
)
from desk.domain.money import fmt, within_ledger_range
from desk.domain.rejects import OrderRejectCode, reject_text
from desk.domain.side import Side
from desk.execution.booking_queue import BookingQueue
from desk.ledger.records import (
    DuplicateClOrdID,
    FillBooking,
    NotBooked,
    OrderRecord,
    OrderRejection,
    OrderStatus,
)
from desk.ledger.repository import Ledger
from desk.positions.inventory import Inventory, desk_delta
from desk.quoting.ids import IdFactory
from desk.quoting.quote_book import QuoteBook, QuoteLookupError
from desk.risk.credit import CreditLines

log = structlog.get_logger("desk.orders")

FOK = "4"
PREVIOUSLY_QUOTED = "D"

Reply = Callable[[OrderOutcome], None]

IN_FLIGHT_WAIT_S = 30.0
"""How long an order or status request waits for an earlier order with its ClOrdID to be
answered (its booking's commit) before it goes ahead anyway."""


class _Reject(Exception):
    def __init__(self, code: OrderRejectCode, explanation: str) -> None:
        super().__init__(explanation)
        self.code = code
        self.explanation = explanation


def fill_from_record(record: OrderRecord, *, resent: bool) -> OrderFilled:
    """The fill ExecutionReport of a booked order, exactly as first sent."""
    side, qty, price = record.side, record.qty, record.price
    trade_id, settl_date = record.trade_id, record.settl_date
    if (
        record.status is not OrderStatus.FILLED
        or side is None
        or qty is None
        or price is None
        or trade_id is None
        or settl_date is None
    ):
        raise ValueError(f"order {record.order_id} has no complete fill in the ledger")
    return OrderFilled(
        order_id=record.order_id,
        exec_id=record.exec_id,
        cl_ord_id=record.cl_ord_id,
        quote_id=record.quote_id or "",
        account=record.account,
        symbol=record.symbol,
        side=side,
        qty=qty,
        price=price,
        gross_amount=record.notional if record.notional is not None else qty * price,
        currency=record.currency or "",
        settl_date=settl_date,
        transact_time=record.created_at,
        trade_id=trade_id,
        resent=resent,
    )


class OrderService:
    """Executes orders against the quote book; the trade is committed before it is reported.

    ``submit`` answers through ``reply``: at once for a reject, after the booking for an
    order that passed the checks (a fill, or the answer to whatever the ledger refused),
    on the caller's thread or the booking queue's (``booking_queue``: several fills, one
    commit). An order or status request whose ClOrdID is still being booked waits for that
    booking's answer first, so a resend or a reuse of the ClOrdID sees the ledger as the
    first order left it.
    """

    def __init__(
        self,
        config: DeskConfig,
        ledger: Ledger,
        clock: Clock,
        ids: IdFactory,
        quote_book: QuoteBook,
        credit: CreditLines,
        inventory: Inventory,
        on_booked: Callable[[str], None] | None = None,
        bookings: BookingQueue | None = None,
    ) -> None:
        self._config = config
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self._quote_book = quote_book
        self._credit = credit
        self._inventory = inventory
        self._on_booked = on_booked
        self._bookings = bookings if bookings is not None else BookingQueue(ledger)
        self._in_flight: dict[tuple[str, str], threading.Event] = {}
        self._in_flight_lock = threading.Lock()

    def handle(self, order: OrderRequest) -> OrderOutcome:
        """``submit``, waiting for the answer."""
        answered = threading.Event()
        outcomes: list[OrderOutcome] = []

        def reply(outcome: OrderOutcome) -> None:
            outcomes.append(outcome)
            answered.set()

        self.submit(order, reply)
        answered.wait()
        return outcomes[0]

    def submit(self, order: OrderRequest, reply: Reply) -> None:
        """Fill or reject ``order``; ``reply`` is called once with the outcome, maybe on the
        booking thread. Logs order.received and trade.booked / order.rejected."""
        bound = log.bind(
            counterparty=order.counterparty, cl_ord_id=order.cl_ord_id, quote_id=order.quote_id
        )
        bound.info(
            "order.received",
            symbol=order.symbol,
            side=order.side,
            qty=fmt(order.qty),
            price=None if order.price is None else fmt(order.price),
            poss_resend=order.poss_resend,
        )
        self._wait_in_flight(order.counterparty, order.cl_ord_id, bound)
        if order.poss_resend:
            # A resend of a filled order gets the original fill back, so look it up first. Any
            # other reuse of a ClOrdID is refused by the ledger's unique key when the order is
            # booked or its rejection recorded (DuplicateClOrdID, answered below exactly as
            # here): the lookup would be one more query on every order's path.
            existing = self._ledger.find_repeat(order.counterparty, order.cl_ord_id, order)
            if existing is not None:
                reply(self._repeat(order, existing, bound))
                return
        try:
            quote, price = self._validate(order)
            self._execute(order, quote, price, bound, reply)
        except _Reject as rej:
            reply(self._reject(order, rej, bound))

    def stop(self) -> None:
        """Book and answer every queued order; later orders are booked on their own thread."""
        self._bookings.stop()

    def start(self) -> None:
        """Book on the queue's thread from now on (group commit)."""
        self._bookings.start()

    def _wait_in_flight(
        self, counterparty: str, cl_ord_id: str, bound: structlog.typing.FilteringBoundLogger
    ) -> None:
        with self._in_flight_lock:
            pending = self._in_flight.get((counterparty, cl_ord_id))
        if pending is not None and not pending.wait(IN_FLIGHT_WAIT_S):
            bound.warning("order.in_flight_wait_timed_out", waited_s=IN_FLIGHT_WAIT_S)

    def _repeat(
        self,
        order: OrderRequest,
        existing: OrderRecord,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> OrderOutcome:
        if order.poss_resend and existing.status is OrderStatus.FILLED:
            bound.info("order.fill_resent", exec_id=existing.exec_id, trade_id=existing.trade_id)
            return fill_from_record(existing, resent=True)
        rej = _Reject(
            OrderRejectCode.DUPLICATE_CLORDID,
            f"ClOrdID {order.cl_ord_id} was already used (order {existing.order_id})",
        )
        # Not recorded: the ClOrdID already belongs to the first order.
        return self._reject(order, rej, bound, record=False)

    def _validate(self, order: OrderRequest) -> tuple[QuoteIssued, Decimal]:
        """The quote and the price the order executes at, or a _Reject."""
        if order.ord_type != PREVIOUSLY_QUOTED:
            raise _Reject(
                OrderRejectCode.BAD_ORDTYPE, f"OrdType {order.ord_type} not accepted, only D"
            )
        if order.time_in_force not in (None, FOK):
            raise _Reject(
                OrderRejectCode.BAD_TIF, f"TimeInForce {order.time_in_force} not accepted, only 4"
            )
        if order.qty <= 0 or not within_ledger_range(order.qty):
            raise _Reject(OrderRejectCode.BAD_REQUEST, f"OrderQty {order.qty} is out of range")
        if order.price is not None and not within_ledger_range(order.price):
            raise _Reject(OrderRejectCode.BAD_REQUEST, f"Price {order.price} is out of range")
        inst = self._config.instruments.get(order.symbol)
        if inst is None or not inst.enabled:
            raise _Reject(OrderRejectCode.UNKNOWN_SYMBOL, f"{order.symbol} is not traded")
        try:
            quote = self._quote_book.lookup(order.quote_id, order.counterparty, order.received_at)
        except QuoteLookupError as exc:
            raise _Reject(exc.code, exc.text) from None
        counterparty = self._config.counterparties[order.counterparty]
        if self._config.halted or inst.halted or counterparty.halted:
            raise _Reject(OrderRejectCode.HALTED, f"trading is halted for {order.symbol}")
        if order.symbol != quote.symbol:
            raise _Reject(
                OrderRejectCode.SYMBOL_MISMATCH, f"quote {quote.quote_id} is for {quote.symbol}"
            )
        quoted_px = quote.offer_px if order.side is Side.BUY else quote.bid_px
        if quoted_px is None:
            raise _Reject(
                OrderRejectCode.SIDE_MISMATCH,
                f"quote {quote.quote_id} offers no price for a client {order.side.value}",
            )
        if order.qty > quote.qty:
            raise _Reject(
                OrderRejectCode.QTY_ABOVE_QUOTE,
                f"OrderQty {fmt(order.qty)} exceeds quoted {fmt(quote.qty)}",
            )
        if order.price is None or order.price != quoted_px:
            raise _Reject(
                OrderRejectCode.PRICE_MISMATCH,
                f"Price {order.price if order.price is None else fmt(order.price)} "
                f"is not the quoted {fmt(quoted_px)}",
            )
        notional = order.qty * quoted_px
        max_notional = min(inst.max_notional, counterparty.max_notional)
        if notional > max_notional:
            raise _Reject(
                OrderRejectCode.NOTIONAL_LIMIT,
                f"notional {fmt(notional)} exceeds max {fmt(max_notional)} {inst.quote}",
            )
        used = self._credit.used(order.counterparty, order.received_at)
        if used + notional > counterparty.credit_limit:
            raise _Reject(
                OrderRejectCode.CREDIT_LIMIT,
                f"notional {fmt(notional)} with {fmt(used)} used exceeds credit line "
                f"{fmt(counterparty.credit_limit)} {inst.quote}",
            )
        return quote, quoted_px

    def _execute(
        self,
        order: OrderRequest,
        quote: QuoteIssued,
        price: Decimal,
        bound: structlog.typing.FilteringBoundLogger,
        reply: Reply,
    ) -> None:
        try:
            self._quote_book.claim(quote.quote_id, order.counterparty, order.received_at)
        except QuoteLookupError as exc:
            raise _Reject(exc.code, exc.text) from None
        executed_at = self._clock.now()
        booking = FillBooking(
            counterparty=order.counterparty,
            account=order.account if order.account is not None else quote.account,
            cl_ord_id=order.cl_ord_id,
            order_id=self._ids.order_id(),
            exec_id=self._ids.exec_id(),
            quote_id=quote.quote_id,
            quote_req_id=quote.quote_req_id,
            symbol=quote.symbol,
            side=order.side,
            qty=order.qty,
            price=price,
            notional=order.qty * price,
            currency=quote.currency,
            settl_date=(executed_at + timedelta(days=self._config.settlement_lag_days)).date(),
            executed_at=executed_at,
            client_transact_time=order.transact_time,
        )
        # Reserved now, so the counterparty's next order (validated while this one is being
        # booked) counts it; given back if the ledger refuses the booking.
        credit_day = self._credit.add(order.counterparty, booking.notional, executed_at)
        key = (order.counterparty, order.cl_ord_id)
        answered = threading.Event()
        with self._in_flight_lock:
            self._in_flight[key] = answered

        def done(result: OrderRecord | Exception) -> None:
            try:
                try:
                    outcome = self._booked(order, booking, credit_day, result, bound)
                except Exception:
                    # Never leave the counterparty waiting; the status request tells the truth.
                    bound.exception("order.answer_failed", order_id=booking.order_id)
                    outcome = self._booking_failed(order, booking, known=False)
                self._send(outcome, reply, order, booking, bound)
            finally:
                with self._in_flight_lock:
                    if self._in_flight.get(key) is answered:
                        del self._in_flight[key]
                answered.set()

        self._bookings.submit(booking, done)

    def _send(
        self,
        outcome: OrderOutcome,
        reply: Reply,
        order: OrderRequest,
        booking: FillBooking,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> None:
        """``reply(outcome)``; if that fails (say the report cannot be encoded), one more try
        with an INTERNAL_ERROR reject, so the order is never left without an answer."""
        try:
            reply(outcome)
        except Exception:
            bound.exception("order.answer_failed", order_id=booking.order_id)
            reply(self._booking_failed(order, booking, known=False))

    def _booked(
        self,
        order: OrderRequest,
        booking: FillBooking,
        credit_day: date,
        result: OrderRecord | Exception,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> OrderOutcome:
        """The answer to ``order`` once the ledger has booked ``booking`` (or refused it)."""
        if isinstance(result, DuplicateClOrdID | NotBooked):
            # Nothing was written: give the quote and the credit back.
            self._quote_book.release(booking.quote_id)
            self._credit.release(order.counterparty, booking.notional, credit_day)
            if isinstance(result, DuplicateClOrdID):
                return self._repeat(order, result.existing, bound)  # another order's ClOrdID
            bound.error("order.booking_failed", order_id=booking.order_id, error=str(result))
            return self._booking_failed(order, booking, known=True)
        if isinstance(result, Exception):
            # The trade may or may not be in the ledger (a commit can fail after it landed):
            # the quote stays claimed and the credit used; the counterparty asks for status.
            bound.error(
                "order.booking_failed",
                order_id=booking.order_id,
                error=f"{type(result).__name__}: {result}",
            )
            return self._booking_failed(order, booking, known=False)
        record = result
        base = self._config.instruments[booking.symbol].base
        position = self._inventory.apply(base, desk_delta(booking.side, booking.qty))
        bound.info(
            "trade.booked",
            trade_id=record.trade_id,
            order_id=record.order_id,
            exec_id=record.exec_id,
            symbol=booking.symbol,
            side=booking.side,
            qty=fmt(booking.qty),
            price=fmt(booking.price),
            notional=fmt(booking.notional),
            desk_position=fmt(position),
        )
        if self._on_booked is not None:
            try:
                self._on_booked(booking.symbol)
            except Exception:
                # The trade is booked and its intent is in the outbox, which the hedger scans
                # on its own: the fill goes out.
                bound.exception("order.hedger_wake_failed", trade_id=record.trade_id)
        return fill_from_record(record, resent=False)

    def _booking_failed(
        self, order: OrderRequest, booking: FillBooking, *, known: bool
    ) -> OrderRejected:
        """INTERNAL_ERROR for an order whose booking failed: ``known`` when the ledger
        certainly holds nothing of it, else the counterparty is told to ask."""
        code = OrderRejectCode.INTERNAL_ERROR
        text = (
            "the order was not booked"
            if known
            else "the order could not be booked; query its status"
        )
        return self._rejected(order, booking.order_id, code, reject_text(code, text))

    def _rejected(
        self, order: OrderRequest, order_id: str, code: OrderRejectCode, text: str
    ) -> OrderRejected:
        """The reject ExecutionReport of ``order``, with a new ExecID."""
        return OrderRejected(
            order_id=order_id,
            exec_id=self._ids.exec_id(),
            cl_ord_id=order.cl_ord_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            price=order.price,
            account=order.account,
            code=code,
            text=text,
            transact_time=self._clock.now(),
        )

    def _reject(
        self,
        order: OrderRequest,
        rej: _Reject,
        bound: structlog.typing.FilteringBoundLogger,
        *,
        record: bool = True,
    ) -> OrderOutcome:
        text = reject_text(rej.code, rej.explanation)
        outcome = self._rejected(order, self._ids.order_id(), rej.code, text)
        if record:
            try:
                self._ledger.record_rejection(
                    OrderRejection(
                        counterparty=order.counterparty,
                        account=order.account,
                        cl_ord_id=order.cl_ord_id,
                        order_id=outcome.order_id,
                        exec_id=outcome.exec_id,
                        quote_id=order.quote_id,
                        symbol=order.symbol,
                        side=order.side,
                        qty=_storable(order.qty),
                        price=_storable(order.price),
                        reject_code=rej.code.name,
                        reject_text=text,
                        received_at=order.received_at,
                    )
                )
            except DuplicateClOrdID as dup:
                return self._repeat(order, dup.existing, bound)
        bound.info("order.rejected", code=rej.code.name, reason=rej.code.fix_reason, text=text)
        return outcome

    def status(self, request: StatusRequest) -> StatusReport:
        """ExecutionReport (ExecType=I) for one of the counterparty's own orders."""
        self._wait_in_flight(
            request.counterparty,
            request.cl_ord_id,
            log.bind(counterparty=request.counterparty, cl_ord_id=request.cl_ord_id),
        )
        record = self._ledger.find_order(request.counterparty, request.cl_ord_id)
        now = self._clock.now()
        if record is None:
            return StatusReport(
                exec_id=self._ids.exec_id(),
                order_id="NONE",
                cl_ord_id=request.cl_ord_id,
                symbol=request.symbol,
                side=request.side,
                filled=None,
                qty=None,
                price=None,
                account=None,
                text=f"UNKNOWN_ORDER: ClOrdID {request.cl_ord_id} is not known",
                transact_time=now,
            )
        filled = record.status is OrderStatus.FILLED
        return StatusReport(
            exec_id=self._ids.exec_id(),
            order_id=record.order_id,
            cl_ord_id=record.cl_ord_id,
            symbol=record.symbol,
            side=record.side or request.side,
            filled=filled,
            qty=record.qty,
            price=record.price if filled else None,
            account=record.account,
            text=None if filled else record.reject_text,
            transact_time=now,
        )


def _storable(value: Decimal | None) -> Decimal | None:
    """What the ledger can hold of a client-supplied number; out-of-range values are dropped."""
    return value if value is not None and within_ledger_range(value) else None
