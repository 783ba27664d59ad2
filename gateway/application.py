"""The QuickFIX Application: guarded callbacks that hand decoded messages to the desk.

In the Python binding any exception other than QuickFIX's own reject types that escapes a
callback ends the whole process, so every callback is wrapped: a bug in desk code becomes a
business reject plus an ``error`` log event, never a dead gateway. A fill may be answered
later, from the desk's booking thread, through the ``reply`` an order is placed with; the
desk answers a failure to send it there (``OrderService``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import quickfix as fix
import structlog

from desk.clock import Clock
from desk.domain.messages import (
    OrderFilled,
    OrderOutcome,
    OrderRejected,
    QuoteIssued,
    RfqRejected,
    RfqRequest,
)
from desk.domain.rejects import OrderRejectCode, RfqRejectCode, reject_text
from gateway import codec
from gateway import tags as t
from gateway.fix_audit import FixAudit
from gateway.logon_guard import LogonGuard
from gateway.ports import DeskPort
from gateway.wire import WireFields, header_value

log = structlog.get_logger("gateway")

# These are how QuickFIX turns a Python exception into a FIX reject; they must propagate.
_FIX_REJECTS: tuple[type[BaseException], ...] = (
    fix.FieldNotFound,
    fix.IncorrectDataFormat,
    fix.IncorrectTagValue,
    fix.UnsupportedMessageType,
    fix.RejectLogon,
    fix.DoNotSend,
)

# Stale prices must not be replayed on a ResendRequest: these go out as a gap fill instead.
_NOT_RESENT = frozenset({t.MSG_QUOTE})


class DeskApplication(fix.Application):  # type: ignore[misc] # SWIG base class is untyped
    """Translates FIX to the desk's domain and back; holds no business logic."""

    def __init__(self, desk: DeskPort, guard: LogonGuard, clock: Clock, audit: FixAudit) -> None:
        super().__init__()
        self._desk = desk
        self._guard = guard
        self._clock = clock
        self._audit = audit
        self._handlers: dict[str, Callable[[WireFields, fix.SessionID, str, datetime], None]] = {
            t.MSG_QUOTE_REQUEST: self._on_quote_request,
            t.MSG_NEW_ORDER_SINGLE: self._on_new_order,
            t.MSG_ORDER_STATUS_REQUEST: self._on_status_request,
        }

    # --- session callbacks -------------------------------------------------------------
    def onCreate(self, session_id: fix.SessionID) -> None:
        log.info("session.created", session=session_id.toString())

    def onLogon(self, session_id: fix.SessionID) -> None:
        try:
            log.info("session.logon", session=session_id.toString(), counterparty=_cp(session_id))
        except Exception:
            log.exception("gateway.callback_failed", callback="onLogon")

    def onLogout(self, session_id: fix.SessionID) -> None:
        try:
            # Disconnected: the numbers are settled until the next Logon.
            self._guard.remember(session_id)
            log.info("session.logout", session=session_id.toString(), counterparty=_cp(session_id))
        except Exception:
            log.exception("gateway.callback_failed", callback="onLogout")

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            header = message.getHeader()
            if str(header.getField(t.MSG_TYPE)) == t.MSG_LOGOUT:
                self._guard.before_logout_sent(session_id, int(header.getField(t.MSG_SEQ_NUM)))
        except Exception:
            log.exception("gateway.callback_failed", callback="toAdmin")

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            if str(message.getHeader().getField(t.MSG_TYPE)) != t.MSG_LOGON:
                return
            username = _opt(message, t.USERNAME)
            password = _opt(message, t.PASSWORD)
            reason = self._guard.check(session_id, username, password)
        except _FIX_REJECTS:
            raise
        except Exception:
            log.exception("gateway.callback_failed", callback="fromAdmin")
            reason = "logon could not be processed"
        if reason is not None:
            raise fix.RejectLogon(f"Logon refused: {reason}")

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            wire = message.toString()
            resend = header_value(wire, t.POSS_DUP_FLAG) == "Y"
            stale = resend and header_value(wire, t.MSG_TYPE) in _NOT_RESENT
        except Exception:
            log.exception("gateway.callback_failed", callback="toApp")
            return
        if stale:
            raise fix.DoNotSend()
        # The session's other side is the counterparty, whichever way the message goes.
        # The session has filled in the header by now; the fallback is for a bare message.
        self._audit.outbound(wire, header_value(wire, t.TARGET_COMP_ID) or _cp(session_id))

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        now = self._clock.now()
        try:
            fields = WireFields.of(message)  # one call into the engine, then Python
        except Exception:
            log.exception(
                "gateway.callback_failed", callback="fromApp", session=session_id.toString()
            )
            self._internal_error(message, session_id, now)
            return
        # The engine checked SenderCompID against the session: it is the counterparty.
        cp = fields.get(t.SENDER_COMP_ID) or _cp(session_id)
        self._audit.inbound(fields.wire, cp, now)
        try:
            msg_type = fields.required(t.MSG_TYPE)
            handler = self._handlers.get(msg_type)
            if handler is None:
                raise fix.UnsupportedMessageType()
            handler(fields, session_id, cp, now)
        except _FIX_REJECTS:
            raise
        except Exception:
            log.exception(
                "gateway.callback_failed", callback="fromApp", session=session_id.toString()
            )
            self._internal_error(message, session_id, now)

    # --- application messages ----------------------------------------------------------
    def _on_quote_request(
        self, fields: WireFields, session_id: fix.SessionID, cp: str, now: datetime
    ) -> None:
        try:
            request = codec.decode_quote_request(fields, cp, now)
        except codec.RfqDecodeError as exc:
            request = exc.request
            outcome: QuoteIssued | RfqRejected = _bad_rfq(request, exc.problem)
        except codec.DecodeError as exc:
            request = _bare_rfq(fields.get(t.QUOTE_REQ_ID), cp, now)
            outcome = _bad_rfq(request, exc.problem)
        else:
            outcome = self._desk.request_quote(request)
        if isinstance(outcome, QuoteIssued):
            with self._audit.attached(outcome.audit_extra):
                _send(codec.encode_quote(outcome), session_id)
        else:
            _send(codec.encode_rfq_reject(outcome), session_id)
        # Logged after the answer went out: the log line is not the counterparty's wait.
        try:
            self._desk.rfq_answered(request, outcome)
        except Exception:  # the answer is out: a second one must not follow
            log.exception("gateway.callback_failed", callback="rfq_answered")

    def _on_new_order(
        self, fields: WireFields, session_id: fix.SessionID, cp: str, now: datetime
    ) -> None:
        # A fill can be answered from the booking thread after this callback returns: it
        # gets its own SessionID, not the engine's one that ``session_id`` wraps.
        session = _copy(session_id)

        def reply(outcome: OrderOutcome) -> None:
            if isinstance(outcome, OrderFilled):
                _send(codec.encode_fill(outcome), session)
            else:
                _send(codec.encode_order_reject(outcome), session)

        self._desk.place_order(codec.decode_new_order(fields, cp, now), reply)

    def _on_status_request(
        self, fields: WireFields, session_id: fix.SessionID, cp: str, now: datetime
    ) -> None:
        report = self._desk.order_status(codec.decode_status_request(fields, cp, now))
        _send(codec.encode_status(report), session_id)

    def _internal_error(
        self, message: fix.Message, session_id: fix.SessionID, now: datetime
    ) -> None:
        """Answer a message whose handling failed, so the counterparty is never left waiting."""
        try:
            msg_type = str(message.getHeader().getField(t.MSG_TYPE))
            cp = _cp(session_id)
            if msg_type == t.MSG_QUOTE_REQUEST:
                reject = RfqRejected(
                    request=_bare_rfq(_opt(message, t.QUOTE_REQ_ID), cp, now),
                    code=RfqRejectCode.INTERNAL_ERROR,
                    text=reject_text(RfqRejectCode.INTERNAL_ERROR, "the desk could not price"),
                )
                _send(codec.encode_rfq_reject(reject), session_id)
            elif msg_type == t.MSG_NEW_ORDER_SINGLE:
                _send(codec.encode_order_reject(_internal_order_reject(message, now)), session_id)
        except Exception:
            log.exception("gateway.error_reply_failed", session=session_id.toString())


def _copy(session_id: fix.SessionID) -> fix.SessionID:
    return fix.SessionID(
        session_id.getBeginString().getValue(),
        session_id.getSenderCompID().getValue(),
        session_id.getTargetCompID().getValue(),
        session_id.getSessionQualifier(),
    )


def _cp(session_id: fix.SessionID) -> str:
    return str(session_id.getTargetCompID().getValue())


def _opt(message: fix.FieldMap, tag: int) -> str | None:
    return str(message.getField(tag)) if message.isSetField(tag) else None


def _bare_rfq(quote_req_id: str | None, cp: str, now: datetime) -> RfqRequest:
    return RfqRequest(
        counterparty=cp,
        quote_req_id=quote_req_id or "",
        symbol="",
        side=None,
        order_qty=None,
        cash_order_qty=None,
        indicative=False,
        account=None,
        streaming=False,
        received_at=now,
    )


def _bad_rfq(request: RfqRequest, problem: str) -> RfqRejected:
    return RfqRejected(
        request=request,
        code=RfqRejectCode.BAD_REQUEST,
        text=reject_text(RfqRejectCode.BAD_REQUEST, problem),
    )


def _internal_order_reject(message: fix.Message, now: datetime) -> OrderRejected:
    code = OrderRejectCode.INTERNAL_ERROR
    return OrderRejected(
        order_id="NONE",
        exec_id=f"ERR-{now.strftime('%Y%m%d%H%M%S%f')}",
        cl_ord_id=_opt(message, t.CL_ORD_ID) or "",
        symbol=_opt(message, t.SYMBOL) or "",
        side=None,
        qty=None,
        price=None,
        account=_opt(message, t.ACCOUNT),
        code=code,
        text=reject_text(code, "the order could not be processed; query its status"),
        transact_time=now,
    )


def _send(message: fix.Message, session_id: fix.SessionID) -> None:
    """Send, and make a failure loud: a lost report must never pass silently."""
    try:
        sent = fix.Session.sendToTarget(message, session_id)
    except fix.SessionNotFound:
        log.error("fix.send_failed", session=session_id.toString(), reason="session not found")
        return
    if not sent:
        log.error("fix.send_failed", session=session_id.toString(), reason="not sent")
