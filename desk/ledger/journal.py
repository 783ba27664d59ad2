"""Double-entry posting rules: what a booked fill writes to the journal.

Every fill becomes one journal entry whose postings sum to zero per asset (the database refuses
anything else, see revision ``0003_journal``). ``amount`` is signed: positive means the asset
flows into the account. The desk's own holding is ``desk:inventory``; the other side is the
OTC client (``counterparty:<CompID>``) or the exchange (``venue:<name>``); fees paid go to
``fees:<name>``. A client trade also leaves settlement obligations: what the counterparty
receives (+) or delivers (-) of each asset on the settlement date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, Inexact, Rounded, localcontext
from enum import StrEnum

from sqlalchemy import Connection, insert

from desk.domain.fills import FillEvent, FillSource
from desk.domain.side import Side
from desk.ledger.models import journal_entries, postings, settlement_obligations
from desk.ledger.raw_statements import execute_raw, execute_raw_many

__all__ = [
    "DESK_INVENTORY",
    "EntryKind",
    "Posting",
    "counter_account",
    "entry_kind",
    "obligations_of",
    "postings_of",
    "write_journal_entry",
]

DESK_INVENTORY = "desk:inventory"
# Digits enough for any product of two NUMERIC(38,18) values; rounding would be a bug.
_PRODUCT_PRECISION = 80


class EntryKind(StrEnum):
    CLIENT_TRADE = "CLIENT_TRADE"
    EXCHANGE_FILL = "EXCHANGE_FILL"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of a journal entry."""

    account: str
    asset: str
    amount: Decimal


def entry_kind(event: FillEvent) -> EntryKind:
    """A client fill is a client trade; anything from a venue an exchange fill."""
    return EntryKind.CLIENT_TRADE if event.source is FillSource.CLIENT else EntryKind.EXCHANGE_FILL


def counter_account(event: FillEvent) -> str:
    """The account on the other side of the desk: the OTC client or the venue."""
    if event.source is FillSource.CLIENT:
        return f"counterparty:{event.counterparty}"
    return f"venue:{event.venue}"


def _exact_product(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as exact:
        exact.prec = _PRODUCT_PRECISION
        exact.traps[Inexact] = exact.traps[Rounded] = True
        return a * b


def postings_of(event: FillEvent) -> tuple[Posting, ...]:
    """The balanced postings of one fill (a zero fee posts nothing).

    Raises ``TypeError`` for a quantity, price or fee that is not a Decimal (a float is the
    classic money bug), as the column types would.
    """
    for value in (event.qty, event.price, event.fee):
        if not isinstance(value, Decimal):
            raise TypeError(f"postings need Decimal, got {type(value).__name__}: {value!r}")
    # copy_negate, not unary minus: minus rounds to the context's 28 digits, and a
    # NUMERIC(38,18) value can have 38.
    other = counter_account(event)
    signed_qty = event.qty if event.side is Side.BUY else event.qty.copy_negate()
    consideration = _exact_product(signed_qty, event.price)
    lines = [
        Posting(DESK_INVENTORY, event.base, signed_qty),
        Posting(other, event.base, signed_qty.copy_negate()),
        Posting(DESK_INVENTORY, event.quote, consideration.copy_negate()),
        Posting(other, event.quote, consideration),
    ]
    if event.fee != 0:
        # Paid to whoever charged it: the venue (an OTC fill carries no fee in this desk).
        party = event.venue if event.source is FillSource.EXCHANGE else event.counterparty
        lines += [
            Posting(DESK_INVENTORY, event.fee_currency, event.fee.copy_negate()),
            Posting(f"fees:{party}", event.fee_currency, event.fee),
        ]
    return tuple(lines)


def obligations_of(event: FillEvent, lines: tuple[Posting, ...]) -> tuple[Posting, ...]:
    """What the counterparty of a client trade receives (+) or delivers (-): its postings."""
    if event.source is not FillSource.CLIENT:
        return ()
    account = counter_account(event)
    return tuple(line for line in lines if line.account == account)


_INSERT_POSTINGS = insert(postings)
_INSERT_ENTRY = insert(journal_entries)
_INSERT_OBLIGATIONS = insert(settlement_obligations)


def write_journal_entry(
    conn: Connection,
    event: FillEvent,
    fill_id: int,
    booked_at: datetime,
    trade_id: int | None = None,
) -> None:
    """Write the entry of a just-inserted fill, in the caller's transaction.

    Postings go first and the entry last: on SQLite the entry's insert is where the database
    checks the balance, and postings for an existing entry are refused. The inserts run on the
    transaction's DBAPI connection (``raw_statements``): this is the booking's inner loop.
    """
    lines = postings_of(event)
    execute_raw_many(
        conn,
        _INSERT_POSTINGS,
        [
            {"entry_key": event.booking_key, "account": p.account, "asset": p.asset,
             "amount": p.amount}
            for p in lines
        ],
    )  # fmt: skip
    execute_raw(
        conn,
        _INSERT_ENTRY,
        {
            "entry_key": event.booking_key,
            "fill_id": fill_id,
            "kind": entry_kind(event).value,
            "booked_at": booked_at,
        },
    )
    obligations = obligations_of(event, lines)
    if obligations:
        if trade_id is None or event.settl_date is None:
            raise ValueError(f"client fill {event.booking_key} needs a trade id and settl_date")
        execute_raw_many(
            conn,
            _INSERT_OBLIGATIONS,
            [
                {
                    "trade_id": trade_id,
                    "counterparty": event.counterparty,
                    "asset": o.asset,
                    "amount": o.amount,
                    "settl_date": event.settl_date,
                    "created_at": booked_at,
                }
                for o in obligations
            ],
        )
