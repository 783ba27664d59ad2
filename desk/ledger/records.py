"""Plain records that cross the ledger boundary (no SQLAlchemy objects leak out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from desk.domain.fills import client_booking_key
from desk.domain.side import Side


class OrderStatus(StrEnum):
    FILLED = "FILLED"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class FillBooking:
    """Everything needed to book one accepted client order in a single transaction."""

    counterparty: str
    account: str | None
    cl_ord_id: str
    order_id: str
    exec_id: str
    quote_id: str
    quote_req_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    notional: Decimal
    currency: str
    settl_date: date
    executed_at: datetime
    client_transact_time: datetime | None


@dataclass(frozen=True, slots=True)
class OrderRejection:
    """A rejected order, recorded so its ClOrdID stays used for ever."""

    counterparty: str
    account: str | None
    cl_ord_id: str
    order_id: str
    exec_id: str
    quote_id: str | None
    symbol: str
    side: Side | None
    qty: Decimal | None
    price: Decimal | None
    reject_code: str
    reject_text: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as the ledger holds it, with its fill when it has one."""

    counterparty: str
    account: str | None
    cl_ord_id: str
    order_id: str
    exec_id: str
    quote_id: str | None
    symbol: str
    side: Side | None
    qty: Decimal | None
    price: Decimal | None
    status: OrderStatus
    reject_code: str | None
    reject_text: str | None
    created_at: datetime
    trade_id: int | None = None
    notional: Decimal | None = None
    currency: str | None = None
    settl_date: date | None = None


@dataclass(frozen=True, slots=True)
class TradeLogRow:
    """One row of the ``trade_log`` view."""

    trade_id: int
    executed_at: datetime
    counterparty: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    notional: Decimal
    quote_id: str
    cl_ord_id: str
    exec_id: str


class HedgeIntentStatus(StrEnum):
    PENDING = "PENDING"
    WORKING = "WORKING"
    DONE = "DONE"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class HedgeIntentRecord:
    """One outbox row: a hedge the desk owes an exchange for one client trade.

    ``side`` is the desk's order side on the exchange; it equals the client's side (client BUY
    means the desk sold, so it buys back).
    """

    id: int
    trade_id: int
    symbol: str
    side: Side
    qty: Decimal
    status: HedgeIntentStatus
    created_at: datetime
    updated_at: datetime
    batch_id: int | None = None


class LedgerError(Exception):
    """Base of the ledger's errors."""


class DuplicateClOrdID(LedgerError, ValueError):  # the FIX name reads best (no ...Error)
    """The counterparty already used this ClOrdID; ``existing`` is what the ledger holds."""

    def __init__(self, existing: OrderRecord) -> None:
        super().__init__(f"ClOrdID {existing.cl_ord_id} already used by {existing.counterparty}")
        self.existing = existing


class NotBooked(LedgerError):
    """The ledger refused a booking and holds nothing of it; ``cause`` is why (a constraint,
    a value no column takes)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"not booked: {type(cause).__name__}: {cause}")
        self.cause = cause


class BookingConflict(LedgerError, ValueError):
    """A booking key reused with different terms: an error, never a duplicate; nothing written.

    ``differences`` maps each differing field to (what is booked, what was attempted).
    """

    def __init__(self, key: str, differences: Mapping[str, tuple[object, object]]) -> None:
        self.key = key
        self.differences = dict(differences)
        fields = "; ".join(
            f"{name}: booked {booked}, attempted {attempted}"
            for name, (booked, attempted) in sorted(self.differences.items())
        )
        super().__init__(f"booking key {key} reused with different terms ({fields})")

    def log_fields(self) -> dict[str, object]:
        """The conflict for a ``ledger.booking.conflict`` log event."""
        return {
            "booking_key": self.key,
            "fields": sorted(self.differences),
            "booked": {name: str(b) for name, (b, _) in self.differences.items()},
            "attempted": {name: str(a) for name, (_, a) in self.differences.items()},
        }


class ClOrdIDConflict(DuplicateClOrdID, BookingConflict):
    """A ClOrdID reused with other order terms. Still a DuplicateClOrdID (``existing`` is the
    original order, and the counterparty gets the DUPLICATE_CLORDID answer the ROE specifies),
    but distinguishable from an honest repeat."""

    def __init__(
        self, existing: OrderRecord, differences: Mapping[str, tuple[object, object]]
    ) -> None:
        BookingConflict.__init__(
            self, client_booking_key(existing.counterparty, existing.cl_ord_id), differences
        )
        self.existing = existing


class OrderTerms(Protocol):
    """What a counterparty asks for under a ClOrdID (orders, bookings, rejections, records)."""

    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side | None: ...
    @property
    def qty(self) -> Decimal | None: ...
    @property
    def price(self) -> Decimal | None: ...
    @property
    def quote_id(self) -> str | None: ...


# The terms a repeat of a ClOrdID must carry unchanged; ids and times are the desk's own.
ORDER_TERMS = ("symbol", "side", "qty", "price", "quote_id")


def clordid_conflict(existing: OrderRecord, attempted: OrderTerms) -> ClOrdIDConflict | None:
    """The conflict if ``attempted`` reuses ``existing``'s ClOrdID with other terms, else None."""
    differences: dict[str, tuple[object, object]] = {
        name: (getattr(existing, name), getattr(attempted, name))
        for name in ORDER_TERMS
        if getattr(existing, name) != getattr(attempted, name)
    }
    return ClOrdIDConflict(existing, differences) if differences else None
