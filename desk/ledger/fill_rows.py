"""The rows a booking writes besides the journal: the canonical ``fills`` row of a FillEvent and
the ledger's ``audit_log`` records (written in the booking's own transaction)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from desk.audit.body import canonical_body
from desk.domain.fills import FillEvent
from desk.ledger.records import FillBooking, OrderRejection


class LedgerMsgType(StrEnum):
    """``audit_log.msg_type`` of the records the ledger writes (kind ``ledger``)."""

    CLIENT_FILL = "CLIENT_FILL"
    ORDER_REJECTED = "ORDER_REJECTED"
    EXCHANGE_FILL = "EXCHANGE_FILL"


# The columns of a ``fills`` row as ``fill_row`` builds it.
FILL_ROW_COLUMNS = (
    "fill_key", "source", "venue", "counterparty", "symbol", "base", "quote", "side", "qty",
    "price", "fee", "fee_currency", "executed_at", "booked_at", "trade_id", "client_order_id",
    "settl_date",
)  # fmt: skip


def fill_row(event: FillEvent, booked_at: datetime, trade_id: int | None = None) -> dict[str, Any]:
    """The ``fills`` row for ``event`` (client trades also pass their trade id)."""
    return {
        "fill_key": event.booking_key,
        "source": event.source.value,
        "venue": event.venue,
        "counterparty": event.counterparty,
        "symbol": event.symbol,
        "base": event.base,
        "quote": event.quote,
        "side": event.side.value,
        "qty": event.qty,
        "price": event.price,
        "fee": event.fee,
        "fee_currency": event.fee_currency,
        "executed_at": event.executed_at,
        "booked_at": booked_at,
        "trade_id": trade_id,
        "client_order_id": event.client_order_id,
        "settl_date": event.settl_date,
    }


def _fields_of(record: FillBooking | OrderRejection | FillEvent) -> dict[str, Any]:
    # Shallow: dataclasses.asdict deep-copies every value, several times slower on the trade path.
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _audit_row(
    msg_type: LedgerMsgType, recorded_at: datetime, fields: dict[str, Any], **ids: str | None
) -> dict[str, Any]:
    # The database chains the row (seq, prev_hash, hash); writers give only the content.
    columns = ("counterparty", "quote_req_id", "quote_id", "cl_ord_id", "order_id", "reason")
    return {
        "recorded_at": recorded_at,
        "kind": "ledger",
        "msg_type": msg_type.value,
        **{column: ids.get(column) for column in columns},
        "body": canonical_body(fields),
    }


def client_fill_audit_row(booking: FillBooking) -> dict[str, Any]:
    """The CLIENT_FILL record of a booked client order: the order and trade fields."""
    return _audit_row(
        LedgerMsgType.CLIENT_FILL,
        booking.executed_at,
        _fields_of(booking),
        counterparty=booking.counterparty,
        quote_req_id=booking.quote_req_id,
        quote_id=booking.quote_id,
        cl_ord_id=booking.cl_ord_id,
        order_id=booking.order_id,
    )


def rejection_audit_row(rejection: OrderRejection) -> dict[str, Any]:
    """The ORDER_REJECTED record of a rejected order, with its reject code as the reason."""
    return _audit_row(
        LedgerMsgType.ORDER_REJECTED,
        rejection.received_at,
        _fields_of(rejection),
        counterparty=rejection.counterparty,
        quote_id=rejection.quote_id,
        cl_ord_id=rejection.cl_ord_id,
        order_id=rejection.order_id,
        reason=rejection.reject_code,
    )


def exchange_fill_audit_row(event: FillEvent, booked_at: datetime) -> dict[str, Any]:
    """The EXCHANGE_FILL record of a venue fill (its venue and keys are in the body)."""
    return _audit_row(LedgerMsgType.EXCHANGE_FILL, booked_at, _fields_of(event))
