"""Every FIX application message in and out, as an audit record on the write-behind queue.

Runs on QuickFIX's threads, on the quote path: it only copies the message's wire text and
queues it (no I/O, no parsing: the audit writer's thread turns it into a record), and it
never raises into the gateway — a failure is an ``audit.record_failed`` error.
The body is ``{"fields": {tag: value}}`` with every field of the message but the framing
(BeginString, BodyLength, CheckSum); a tag repeated in a group holds the list of its values.
An outbound Quote also carries its pricing inputs under ``"pricing"``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import structlog

from desk.audit.body import canonical_body
from desk.audit.record import AuditRecord, DeferredRecord
from desk.clock import Clock
from gateway import tags as t

log = structlog.get_logger("gateway")

# BeginString, BodyLength(9), CheckSum(10), as the wire writes their tags.
_FRAMING = frozenset(str(tag) for tag in (t.BEGIN_STRING, 9, 10))
_SOH = "\x01"


class AuditSink(Protocol):
    """Where audit records go: a queue, never a synchronous write."""

    def submit(self, record: AuditRecord | DeferredRecord) -> None: ...


@runtime_checkable
class AuditedDesk(Protocol):
    """A desk port that also keeps an audit trail (the desk core does)."""

    @property
    def audit(self) -> AuditSink: ...


Extra = Callable[[], Mapping[str, Any]]
"""What to add to a message's body, computed on the writer's thread (e.g. pricing inputs)."""


@dataclass(frozen=True, slots=True)
class _Computed:
    """An ``Extra`` already computed: what a portable record carries instead of a closure."""

    values: Mapping[str, Any]

    def __call__(self) -> Mapping[str, Any]:
        return self.values

    def __reduce__(self) -> tuple[type[_Computed], tuple[Mapping[str, Any]]]:
        # See FixWire.__reduce__.
        return (_Computed, (self.values,))


@dataclass(frozen=True, slots=True)
class FixWire:
    """A FIX message as it went over the wire, to become an audit record on the writer."""

    kind: str
    wire: str
    counterparty: str
    at: datetime
    extra: Extra | None = None

    def build(self) -> AuditRecord:
        extra = {} if self.extra is None else self.extra()
        return fix_record(self.kind, self.wire, self.counterparty, self.at, extra)

    def portable(self) -> FixWire:
        if self.extra is None or isinstance(self.extra, _Computed):
            return self
        return FixWire(self.kind, self.wire, self.counterparty, self.at, _Computed(self.extra()))

    def __reduce__(self) -> tuple[type[FixWire], tuple[str, str, str, datetime, Extra | None]]:
        # A slotted dataclass pickles through a getstate that walks its fields() for every
        # object: 3.6 µs a record, against 0.3 µs for this, on the writer thread that holds
        # the GIL while it pickles a batch (the quote path waits for it).
        return (FixWire, (self.kind, self.wire, self.counterparty, self.at, self.extra))


class FixAudit:
    """Turns FIX messages into ``fix.in`` / ``fix.out`` audit records."""

    def __init__(self, sink: AuditSink | None, clock: Clock) -> None:
        self._sink = sink
        self._clock = clock
        self._attached = threading.local()

    def inbound(self, wire: str, counterparty: str, now: datetime) -> None:
        """Record an application message received (call from ``fromApp`` with its wire text)."""
        self._record("fix.in", wire, counterparty, now, None)

    def outbound(self, wire: str, counterparty: str) -> None:
        """Record an application message about to go out (call from ``toApp``)."""
        extra: Extra | None = getattr(self._attached, "extra", None)
        self._record("fix.out", wire, counterparty, self._clock.now(), extra)

    def attached(self, extra: Extra) -> _Attachment:
        """Add ``extra()`` to the body of what this thread sends inside the ``with`` block
        (called on the writer's thread, so it must only read immutable values).

        QuickFIX calls ``toApp`` on the sending thread, inside ``sendToTarget``, so a
        thread-local reaches exactly the message being sent.
        """
        return _Attachment(self._attached, extra)

    def _record(
        self, kind: str, wire: str, counterparty: str, now: datetime, extra: Extra | None
    ) -> None:
        if self._sink is None:
            return
        try:
            self._sink.submit(FixWire(kind, wire, counterparty, now, extra))
        except Exception:
            log.exception("audit.record_failed", kind=kind, counterparty=counterparty)


class _Attachment:
    """``FixAudit.attached``'s block: a plain context manager, as it is on every Quote's way
    out (a generator-based one took 2.0 µs, this 1.2)."""

    __slots__ = ("_extra", "_local")

    def __init__(self, local: threading.local, extra: Extra) -> None:
        self._local = local
        self._extra = extra

    def __enter__(self) -> None:
        self._local.extra = self._extra

    def __exit__(self, *_: object) -> None:
        del self._local.extra


def fix_record(
    kind: str, wire: str, counterparty: str, now: datetime, extra: Mapping[str, Any]
) -> AuditRecord:
    """The audit record of the FIX message ``wire`` (tag=value fields separated by SOH)."""
    fields: dict[str, str | list[str]] = {}
    for pair in wire.split(_SOH):
        tag, _, value = pair.partition("=")
        if not pair or tag in _FRAMING:
            continue
        seen = fields.get(tag)
        if seen is None:
            fields[tag] = value
        elif isinstance(seen, list):
            seen.append(value)
        else:
            fields[tag] = [seen, value]

    def first(tag: int) -> str | None:
        value = fields.get(str(tag))
        return value[0] if isinstance(value, list) else value

    msg_type = first(t.MSG_TYPE) or ""
    return AuditRecord(
        recorded_at=now,
        kind=kind,
        msg_type=msg_type,
        body=canonical_body({"fields": fields, **extra}),
        counterparty=counterparty,
        quote_req_id=first(t.QUOTE_REQ_ID),
        quote_id=first(t.QUOTE_ID),
        cl_ord_id=first(t.CL_ORD_ID),
        order_id=first(t.ORDER_ID),
        reason=_reject_code(msg_type, first(t.EXEC_TYPE), first(t.TEXT)),
    )


def _reject_code(msg_type: str, exec_type: str | None, text: str | None) -> str | None:
    """The machine-readable code at the front of a reject's Text(58): ``NO_MARKET: …``."""
    rejected = msg_type == t.MSG_QUOTE_REQUEST_REJECT or (
        msg_type == t.MSG_EXECUTION_REPORT and exec_type == t.EXEC_TYPE_REJECTED
    )
    if not rejected or not text:
        return None
    return text.partition(":")[0].strip()
