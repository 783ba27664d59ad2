"""``AuditRecord``: one audit row as writers hand it over (the database adds seq and the chain)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from desk.audit.body import canonical_body

KINDS = ("fix.in", "fix.out", "ledger", "ops")

# The ref columns, in the order they enter the canonical content (see desk.audit.chain).
REF_COLUMNS = ("counterparty", "quote_req_id", "quote_id", "cl_ord_id", "order_id", "reason")


class DeferredRecord(Protocol):
    """A record whose row is built later, by the audit writer, not on the caller's thread.

    ``build`` must be pure: the writer may call it again when it retries a batch. An
    exception from it drops that one record (logged in full), never the batch.
    ``portable`` gives the same record in a form that can be pickled and built in another
    process (the audit writer's); it is called on the writer's thread, never the caller's.
    """

    def build(self) -> AuditRecord: ...

    def portable(self) -> DeferredRecord: ...


OpsRecorder = Callable[[str, Mapping[str, Any]], None]
"""Records an ops action: ``record(action, details)`` (enqueue only, never I/O)."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What a writer inserts into ``audit_log``: ``recorded_at`` .. ``body``.

    Refused at construction rather than at the database: an unknown kind, a naive time and
    NUL characters (PostgreSQL text cannot hold them), so a bad record never blocks the
    write-behind queue behind it.
    """

    recorded_at: datetime
    kind: str
    msg_type: str
    body: str
    counterparty: str | None = None
    quote_req_id: str | None = None
    quote_id: str | None = None
    cl_ord_id: str | None = None
    order_id: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"audit kind must be one of {KINDS}, got {self.kind!r}")
        if self.recorded_at.tzinfo is None or self.recorded_at.utcoffset() is None:
            raise ValueError(f"naive recorded_at {self.recorded_at.isoformat()}")
        for name in ("msg_type", "body", *REF_COLUMNS):
            value = getattr(self, name)
            if value is not None and "\x00" in value:
                raise ValueError(f"NUL character in audit {name}: {value!r}")

    def __reduce__(self) -> tuple[type[AuditRecord], tuple[Any, ...]]:
        # Pickled by value, as the audit writer sends it to its process (much faster than a
        # slotted dataclass's field-walking getstate); unpickling validates it again.
        return (AuditRecord, tuple(getattr(self, f.name) for f in _FIELDS))

    def as_row(self) -> dict[str, Any]:
        """The column values for an INSERT into ``audit_log``."""
        return {f.name: getattr(self, f.name) for f in _FIELDS}


_FIELDS = fields(AuditRecord)


def ops_record(recorded_at: datetime, action: str, details: Mapping[str, Any]) -> AuditRecord:
    """An ops action (``desk.start``, ``db.upgrade`` …) with its details as the body."""
    return AuditRecord(recorded_at, "ops", action, canonical_body(details))
