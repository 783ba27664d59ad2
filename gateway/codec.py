"""FIX 4.4 <-> desk domain translation. No decisions: only reading and writing tags."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import quickfix as fix

from desk.domain.messages import (
    OrderFilled,
    OrderRejected,
    OrderRequest,
    QuoteIssued,
    RfqRejected,
    RfqRequest,
    StatusReport,
    StatusRequest,
)
from desk.domain.money import fmt
from desk.domain.side import Side
from gateway import tags as t
from gateway.wire import WireFields

_SIDES = {t.SIDE_BUY: Side.BUY, t.SIDE_SELL: Side.SELL}
_SIDE_TAGS = {Side.BUY: t.SIDE_BUY, Side.SELL: t.SIDE_SELL}


class DecodeError(ValueError):
    """The message passed the dictionary but breaks an ROE rule; ``tag`` names the field."""

    def __init__(self, tag: int, problem: str) -> None:
        super().__init__(f"tag {tag}: {problem}")
        self.tag = tag
        self.problem = problem


def utc_timestamp(moment: datetime, *, millis: bool = True) -> str:
    """FIX UTCTimestamp ``YYYYMMDD-HH:MM:SS.sss``."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y%m%d-%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}" if millis else text


def parse_utc_timestamp(tag: int, text: str) -> datetime:
    for pattern in ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise DecodeError(tag, f"not a UTCTimestamp: {text!r}")


def _decimal(tag: int, text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DecodeError(tag, f"not a number: {text!r}") from None
    if not value.is_finite():
        raise DecodeError(tag, f"not a finite number: {text!r}")
    return value


def _side(tag: int, text: str | None) -> Side | None:
    if text is None:
        return None
    side = _SIDES.get(text)
    if side is None:
        raise DecodeError(tag, f"Side must be 1 or 2, got {text!r}")
    return side


def decode_quote_request(fields: WireFields, counterparty: str, now: datetime) -> RfqRequest:
    """QuoteRequest (35=R) with exactly one related symbol (the group's fields are read from
    its first instance)."""
    quote_req_id = fields.required(t.QUOTE_REQ_ID)
    count = int(fields.required(t.NO_RELATED_SYM))
    subscription = fields.get(t.SUBSCRIPTION_REQUEST_TYPE)
    request = RfqRequest(
        counterparty=counterparty,
        quote_req_id=quote_req_id,
        symbol=fields.get(t.SYMBOL) or "",
        side=_side(t.SIDE, fields.get(t.SIDE)),
        order_qty=_decimal(t.ORDER_QTY, fields.get(t.ORDER_QTY)),
        cash_order_qty=_decimal(t.CASH_ORDER_QTY, fields.get(t.CASH_ORDER_QTY)),
        indicative=fields.get(t.QUOTE_TYPE) == t.QUOTE_TYPE_INDICATIVE,
        account=fields.get(t.ACCOUNT),
        streaming=subscription is not None and subscription != "0",
        received_at=now,
    )
    if count != 1:
        raise RfqDecodeError(request, t.NO_RELATED_SYM, f"NoRelatedSym must be 1, got {count}")
    quote_type = fields.get(t.QUOTE_TYPE)
    if quote_type not in (None, t.QUOTE_TYPE_INDICATIVE, t.QUOTE_TYPE_TRADEABLE):
        raise RfqDecodeError(request, t.QUOTE_TYPE, f"QuoteType must be 0 or 1, got {quote_type}")
    return request


class RfqDecodeError(DecodeError):
    """A QuoteRequest that breaks the ROE; carries what could be read for the reject echo."""

    def __init__(self, request: RfqRequest, tag: int, problem: str) -> None:
        super().__init__(tag, problem)
        self.request = request


def decode_new_order(fields: WireFields, counterparty: str, now: datetime) -> OrderRequest:
    """NewOrderSingle (35=D) on a quote."""
    side = _side(t.SIDE, fields.required(t.SIDE))
    assert side is not None  # noqa: S101 - Side is required by the dictionary
    qty = _decimal(t.ORDER_QTY, fields.get(t.ORDER_QTY))
    if qty is None:
        raise DecodeError(t.ORDER_QTY, "OrderQty is required")
    return OrderRequest(
        counterparty=counterparty,
        cl_ord_id=fields.required(t.CL_ORD_ID),
        quote_id=fields.get(t.QUOTE_ID) or "",
        symbol=fields.required(t.SYMBOL),
        side=side,
        qty=qty,
        price=_decimal(t.PRICE, fields.get(t.PRICE)),
        ord_type=fields.required(t.ORD_TYPE),
        time_in_force=fields.get(t.TIME_IN_FORCE),
        transact_time=parse_utc_timestamp(t.TRANSACT_TIME, fields.required(t.TRANSACT_TIME)),
        account=fields.get(t.ACCOUNT),
        poss_resend=fields.get(t.POSS_RESEND) == "Y",
        received_at=now,
    )


def decode_status_request(fields: WireFields, counterparty: str, now: datetime) -> StatusRequest:
    """OrderStatusRequest (35=H)."""
    side = _side(t.SIDE, fields.required(t.SIDE))
    assert side is not None  # noqa: S101 - Side is required by the dictionary
    return StatusRequest(
        counterparty=counterparty,
        cl_ord_id=fields.required(t.CL_ORD_ID),
        symbol=fields.required(t.SYMBOL),
        side=side,
        received_at=now,
    )


def _new(msg_type: str) -> fix.Message:
    message = fix.Message()
    header = message.getHeader()
    header.setField(t.BEGIN_STRING, "FIX.4.4")
    header.setField(t.MSG_TYPE, msg_type)
    return message


def _set(message: fix.FieldMap, tag: int, value: str | Decimal | None) -> None:
    if value is None:
        return
    message.setField(tag, fmt(value) if isinstance(value, Decimal) else value)


def encode_quote(quote: QuoteIssued) -> fix.Message:
    """Quote (35=S)."""
    m = _new(t.MSG_QUOTE)
    _set(m, t.QUOTE_REQ_ID, quote.quote_req_id)
    _set(m, t.QUOTE_ID, quote.quote_id)
    _set(m, t.QUOTE_TYPE, t.QUOTE_TYPE_INDICATIVE if quote.indicative else t.QUOTE_TYPE_TRADEABLE)
    _set(m, t.ACCOUNT, quote.account)
    _set(m, t.SYMBOL, quote.symbol)
    _set(m, t.SIDE, None if quote.side is None else _SIDE_TAGS[quote.side])
    _set(m, t.ORDER_QTY, quote.qty)
    if quote.bid_px is not None:
        _set(m, t.BID_PX, quote.bid_px)
        _set(m, t.BID_SIZE, quote.qty)
    if quote.offer_px is not None:
        _set(m, t.OFFER_PX, quote.offer_px)
        _set(m, t.OFFER_SIZE, quote.qty)
    _set(m, t.VALID_UNTIL_TIME, utc_timestamp(quote.valid_until))
    _set(m, t.TRANSACT_TIME, utc_timestamp(quote.transact_time))
    _set(m, t.CURRENCY, quote.currency)
    return m


def encode_rfq_reject(reject: RfqRejected) -> fix.Message:
    """QuoteRequestReject (35=AG) echoing the related-symbol group."""
    req = reject.request
    m = _new(t.MSG_QUOTE_REQUEST_REJECT)
    _set(m, t.QUOTE_REQ_ID, req.quote_req_id)
    _set(m, t.QUOTE_REQUEST_REJECT_REASON, str(reject.code.fix_reason))
    _set(m, t.TEXT, reject.text)
    m.setField(t.NO_RELATED_SYM, "1")
    group = fix.Group(t.NO_RELATED_SYM, t.SYMBOL)
    _set(group, t.SYMBOL, req.symbol or "NA")
    _set(group, t.SIDE, None if req.side is None else _SIDE_TAGS[req.side])
    _set(group, t.ORDER_QTY, req.order_qty)
    _set(group, t.CASH_ORDER_QTY, req.cash_order_qty)
    _set(group, t.QUOTE_TYPE, t.QUOTE_TYPE_INDICATIVE if req.indicative else t.QUOTE_TYPE_TRADEABLE)
    _set(group, t.ACCOUNT, req.account)
    m.addGroup(group)
    return m


def _execution_report(
    order_id: str, exec_id: str, cl_ord_id: str, exec_type: str, ord_status: str
) -> fix.Message:
    m = _new(t.MSG_EXECUTION_REPORT)
    _set(m, t.ORDER_ID, order_id)
    _set(m, t.CL_ORD_ID, cl_ord_id)
    _set(m, t.EXEC_ID, exec_id)
    _set(m, t.EXEC_TYPE, exec_type)
    _set(m, t.ORD_STATUS, ord_status)
    return m


def encode_fill(fill: OrderFilled) -> fix.Message:
    """Fill ExecutionReport (150=F, 39=2); PossResend=Y when it repeats an earlier fill."""
    m = _execution_report(
        fill.order_id, fill.exec_id, fill.cl_ord_id, t.EXEC_TYPE_TRADE, t.ORD_STATUS_FILLED
    )
    if fill.resent:
        m.getHeader().setField(t.POSS_RESEND, "Y")
    _set(m, t.ACCOUNT, fill.account)
    _set(m, t.SETTL_DATE, _fix_date(fill.settl_date))
    _set(m, t.SYMBOL, fill.symbol)
    _set(m, t.SIDE, _SIDE_TAGS[fill.side])
    _set(m, t.ORDER_QTY, fill.qty)
    _set(m, t.ORD_TYPE, t.ORD_TYPE_PREVIOUSLY_QUOTED)
    _set(m, t.PRICE, fill.price)
    _set(m, t.CURRENCY, fill.currency)
    _set(m, t.TIME_IN_FORCE, t.TIF_FOK)
    _set(m, t.LAST_QTY, fill.qty)
    _set(m, t.LAST_PX, fill.price)
    _set(m, t.LEAVES_QTY, "0")
    _set(m, t.CUM_QTY, fill.qty)
    _set(m, t.AVG_PX, fill.price)
    _set(m, t.TRANSACT_TIME, utc_timestamp(fill.transact_time))
    _set(m, t.GROSS_TRADE_AMT, fill.gross_amount)
    return m


def encode_order_reject(reject: OrderRejected) -> fix.Message:
    """Reject ExecutionReport (150=8, 39=8) with OrdRejReason and a coded Text."""
    m = _execution_report(
        reject.order_id,
        reject.exec_id,
        reject.cl_ord_id,
        t.EXEC_TYPE_REJECTED,
        t.ORD_STATUS_REJECTED,
    )
    _set(m, t.ORD_REJ_REASON, str(reject.code.fix_reason))
    _set(m, t.ACCOUNT, reject.account)
    _set(m, t.SYMBOL, reject.symbol)
    _set(m, t.SIDE, None if reject.side is None else _SIDE_TAGS[reject.side])
    _set(m, t.ORDER_QTY, reject.qty)
    _set(m, t.PRICE, reject.price)
    _set(m, t.LEAVES_QTY, "0")
    _set(m, t.CUM_QTY, "0")
    _set(m, t.AVG_PX, "0")
    _set(m, t.TRANSACT_TIME, utc_timestamp(reject.transact_time))
    _set(m, t.TEXT, reject.text)
    return m


def encode_status(report: StatusReport) -> fix.Message:
    """Order status ExecutionReport (150=I)."""
    status = t.ORD_STATUS_FILLED if report.filled else t.ORD_STATUS_REJECTED
    m = _execution_report(
        report.order_id, report.exec_id, report.cl_ord_id, t.EXEC_TYPE_ORDER_STATUS, status
    )
    _set(m, t.ACCOUNT, report.account)
    _set(m, t.SYMBOL, report.symbol)
    _set(m, t.SIDE, _SIDE_TAGS[report.side])
    _set(m, t.ORDER_QTY, report.qty)
    _set(m, t.LEAVES_QTY, "0")
    _set(m, t.CUM_QTY, report.qty if report.filled else "0")
    _set(m, t.AVG_PX, report.price if report.filled and report.price is not None else "0")
    _set(m, t.TRANSACT_TIME, utc_timestamp(report.transact_time))
    _set(m, t.TEXT, report.text)
    return m


def _fix_date(day: date) -> str:
    return day.strftime("%Y%m%d")
