"""The audit hash chain, computed in Python exactly as the database computes it.

The database is the authority: migration ``0004_audit`` installs triggers that assign ``seq``
and compute ``prev_hash`` and ``hash`` on every insert, and ``sql/audit/verify_chain.sql``
recomputes them. This module is the same computation, written independently, so that tests
can hold the two against each other and ``otc-desk audit verify`` can check the database's
verdict. The definition (the same text is in the migration):

    field(x)  = 'N'                            when x is NULL
              = 'S' || length(x) || ':' || x   otherwise (length in characters, i.e.
                                               Unicode code points, written in decimal)
    content   = field(seq in decimal)
             || field(recorded_at as UTC text 'YYYY-MM-DDTHH:MM:SS.ffffffZ')
             || field(kind) || field(msg_type) || field(counterparty) || field(quote_req_id)
             || field(quote_id) || field(cl_ord_id) || field(order_id) || field(reason)
             || field(body)
    hash      = lower-case hex SHA-256 of the UTF-8 bytes of field(prev_hash) || content
    prev_hash = the hash of the row with the previous seq; NULL on the first row (seq 1)

The length prefix makes the encoding injective: no choice of texts (separators, quotes, digits,
any Unicode) gives two rows the same content, and NULL ('N') is distinct from '' ('S0:').
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from desk.audit.record import REF_COLUMNS, AuditRecord


def utc_text(moment: datetime) -> str:
    """``moment`` in UTC as fixed-width text with microseconds: ``2026-01-05T12:00:00.000000Z``."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}")
    t = moment.astimezone(UTC)
    # Not strftime: its %Y does not pad years below 1000 on every platform.
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{t.microsecond:06d}Z"
    )


def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of ``text``'s UTF-8 bytes (``desk_sha256`` in the database)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def field(value: str | None) -> str:
    """One length-prefixed field of the canonical content; NULL is 'N', '' is 'S0:'."""
    return "N" if value is None else f"S{len(value)}:{value}"


def canonical_content(seq: int, record: AuditRecord) -> str:
    """The hashed content of the row ``seq`` holding ``record`` (see the module docstring)."""
    return "".join(
        (
            field(str(seq)),
            field(utc_text(record.recorded_at)),
            field(record.kind),
            field(record.msg_type),
            *(field(getattr(record, name)) for name in REF_COLUMNS),
            field(record.body),
        )
    )


def chained_hash(prev_hash: str | None, seq: int, record: AuditRecord) -> str:
    """The hash the database gives row ``seq`` after a row whose hash is ``prev_hash``."""
    return sha256_hex(field(prev_hash) + canonical_content(seq, record))


@dataclass(frozen=True, slots=True)
class ChainRow:
    """A row of ``audit_log`` as stored: the record and its place in the chain."""

    seq: int
    prev_hash: str | None
    hash: str | None
    record: AuditRecord


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first row at which the chain does not hold, and why (same words as the SQL)."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.problem}"


def row_problem(row: ChainRow, before: ChainRow | None) -> str | None:
    """What is wrong with ``row`` given the row stored before it, or None."""
    expected_seq = 1 if before is None else before.seq + 1
    if row.seq != expected_seq:
        return f"rows missing before it: seq {expected_seq} to {row.seq - 1}"
    if before is None and row.prev_hash is not None:
        return "prev_hash is set on the first row"
    if before is not None and row.prev_hash != before.hash:
        return f"prev_hash does not match the hash of seq {before.seq}"
    if row.hash != chained_hash(row.prev_hash, row.seq, row.record):
        return "hash does not match the row's content"
    return None


def first_break(rows: Iterable[ChainRow]) -> ChainBreak | None:
    """The first broken row of ``rows`` (in seq order), or None if the chain holds."""
    before: ChainRow | None = None
    for row in rows:
        problem = row_problem(row, before)
        if problem is not None:
            return ChainBreak(row.seq, problem)
        before = row
    return None
