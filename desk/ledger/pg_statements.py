"""Pieces of the one-statement bookings on PostgreSQL, shared by the client and hedge paths."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.dml import UpdateBase

from desk.ledger.column_types import DecimalType, UtcDateTime
from desk.ledger.fill_rows import FILL_ROW_COLUMNS
from desk.ledger.journal import EntryKind
from desk.ledger.models import audit_log, fills, journal_entries, postings

AUDIT_COLUMNS = (
    "recorded_at", "kind", "msg_type", "counterparty", "quote_req_id", "quote_id", "cl_ord_id",
    "order_id", "reason", "body",
)  # fmt: skip

_LINE_TYPES: dict[str, Any] = {"account": String(), "asset": String(), "amount": DecimalType()}


def unnest_lines(name: str, prefix: str, columns: tuple[str, ...]) -> Any:
    """``unnest(:<prefix>_<column>, ...) AS name(columns)``: array parameters as rows."""
    arrays = (bindparam(f"{prefix}_{c}", type_=ARRAY(_LINE_TYPES[c])) for c in columns)
    return func.unnest(*arrays).table_valued(*columns).render_derived(name=name)


def new_postings_cte() -> Any:
    """The CTE inserting a journal entry's postings from the ``posting_*`` arrays, under the
    entry's key ``fill_key`` (client trades and exchange fills alike)."""
    lines = unnest_lines("line", "posting", ("account", "asset", "amount"))
    return (
        insert(postings)
        .from_select(
            ["entry_key", "account", "asset", "amount"],
            select(bindparam("fill_key", type_=String()), *lines.c),
        )
        .cte("new_postings")
    )


def book_exchange_fill_statement() -> UpdateBase:
    """An exchange fill with its journal entry, postings and EXCHANGE_FILL audit record as one
    INSERT ... WITH statement.

    One statement holds the audit chain's lock (taken first by the positions trigger, see
    0006_positions) only for itself and its commit; as a transaction of several statements it
    held it across every round trip, and client bookings queued behind it. Parameters: the
    ``fills`` row, ``posting_*`` arrays and ``audit_*`` columns.
    """
    new_fill = (
        insert(fills)
        .values({c: bindparam(c) for c in FILL_ROW_COLUMNS})
        .returning(fills.c.id)
        .cte("new_fill")
    )
    new_postings = new_postings_cte()
    new_audit = (
        insert(audit_log)
        .values({c: bindparam(f"audit_{c}") for c in AUDIT_COLUMNS})
        .cte("new_audit")
    )
    return (
        insert(journal_entries)
        .from_select(
            ["entry_key", "fill_id", "kind", "booked_at"],
            select(
                bindparam("fill_key", type_=String()),
                new_fill.c.id,
                literal(EntryKind.EXCHANGE_FILL.value, String()),
                bindparam("booked_at", type_=UtcDateTime()),
            ),
        )
        .add_cte(new_postings, new_audit)
    )
