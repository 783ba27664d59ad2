"""What the gateway hands the desk and what the desk answers, free of any FIX type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from desk.domain.pricing_inputs import PricingInputs
from desk.domain.rejects import OrderRejectCode, RfqRejectCode
from desk.domain.side import Side


@dataclass(frozen=True, slots=True)
class RfqRequest:
    """A counterparty's QuoteRequest, already decoded."""

    counterparty: str
    quote_req_id: str
    symbol: str
    side: Side | None
    order_qty: Decimal | None
    cash_order_qty: Decimal | None
    indicative: bool
    account: str | None
    streaming: bool
    received_at: datetime


@dataclass(frozen=True, slots=True)
class QuoteIssued:
    """A firm (or indicative) two-way or one-way price."""

    quote_id: str
    quote_req_id: str
    counterparty: str
    account: str | None
    symbol: str
    currency: str
    side: Side | None
    qty: Decimal
    bid_px: Decimal | None
    offer_px: Decimal | None
    valid_until: datetime
    transact_time: datetime
    indicative: bool
    pricing: PricingInputs | None = None

    def audit_extra(self) -> dict[str, Any]:
        """What the audit record of this quote adds to the message: its pricing inputs."""
        return {} if self.pricing is None else {"pricing": self.pricing.as_log()}


@dataclass(frozen=True, slots=True)
class RfqRejected:
    """The answer to a QuoteRequest the desk will not quote."""

    request: RfqRequest
    code: RfqRejectCode
    text: str


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A counterparty's NewOrderSingle on a quote, already decoded."""

    counterparty: str
    cl_ord_id: str
    quote_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal | None
    ord_type: str
    time_in_force: str | None
    transact_time: datetime
    account: str | None
    poss_resend: bool
    received_at: datetime


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """A fill ExecutionReport; ``resent`` when it repeats an earlier fill on PossResend."""

    order_id: str
    exec_id: str
    cl_ord_id: str
    quote_id: str
    account: str | None
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    gross_amount: Decimal
    currency: str
    settl_date: date
    transact_time: datetime
    trade_id: int
    resent: bool = False


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """A reject ExecutionReport."""

    order_id: str
    exec_id: str
    cl_ord_id: str
    symbol: str
    side: Side | None
    qty: Decimal | None
    price: Decimal | None
    account: str | None
    code: OrderRejectCode
    text: str
    transact_time: datetime


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """OrderStatusRequest."""

    counterparty: str
    cl_ord_id: str
    symbol: str
    side: Side
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StatusReport:
    """ExecutionReport with ExecType=I; ``filled`` None when the order is unknown."""

    exec_id: str
    order_id: str
    cl_ord_id: str
    symbol: str
    side: Side
    filled: bool | None
    qty: Decimal | None
    price: Decimal | None
    account: str | None
    text: str | None
    transact_time: datetime


OrderOutcome = OrderFilled | OrderRejected
RfqOutcome = QuoteIssued | RfqRejected
