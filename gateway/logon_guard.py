"""Logon authentication and keeping sequence numbers intact when a Logon is refused.

QuickFIX applies ResetSeqNumFlag=Y *before* the application sees the Logon, so a bad
password with 141=Y would reset a real session's sequence numbers. The guard snapshots the
numbers when the raw Logon arrives (``Log.onIncoming`` runs before the session acts on it) and
puts them back when authentication fails; the refusing Logout is then sent without using up a
sequence number of the real session.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import quickfix as fix
import structlog

from gateway.credentials import verify_password

log = structlog.get_logger("gateway.security")

_LOGON_MARKER = "\x0135=A\x01"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A counterparty's logon identity."""

    comp_id: str
    username: str
    password_hash: str


class LogonGuard:
    """Checks Username/Password on Logon and restores sequence numbers on refusal."""

    def __init__(self, credentials: Mapping[str, Credentials]) -> None:
        self._credentials = dict(credentials)
        self._snapshots: dict[str, tuple[int, int]] = {}
        self._refused: dict[str, int] = {}
        self._lock = threading.Lock()

    def on_raw_incoming(self, session_id: fix.SessionID, raw: str) -> None:
        """Called from the session's Log before it processes ``raw``."""
        if _LOGON_MARKER not in raw:
            return
        session = fix.Session.lookupSession(session_id)
        if session is None:
            return
        with self._lock:
            self._snapshots[session_id.toString()] = (
                session.getExpectedSenderNum(),
                session.getExpectedTargetNum(),
            )

    def check(self, session_id: fix.SessionID, username: str | None, password: str | None) -> str | None:
        """None when the Logon may proceed, else the reason for the refusing Logout's Text."""
        comp_id = str(session_id.getTargetCompID().getValue())
        creds = self._credentials.get(comp_id)
        if creds is None:
            reason = "unknown counterparty"
        elif not username or not password:
            reason = "Username(553) and Password(554) are required"
        elif username != creds.username or not verify_password(password, creds.password_hash):
            reason = "invalid username or password"
        else:
            return None
        self._refuse(session_id, comp_id, reason)
        return reason

    def _refuse(self, session_id: fix.SessionID, comp_id: str, reason: str) -> None:
        key = session_id.toString()
        with self._lock:
            snapshot = self._snapshots.pop(key, None)
            if snapshot is not None:
                self._refused[key] = snapshot[0]
        session = fix.Session.lookupSession(session_id)
        if snapshot is not None and session is not None:
            session.setNextTargetMsgSeqNum(snapshot[1])
        log.warning(
            "security.logon_refused",
            counterparty=comp_id,
            session=key,
            reason=reason,
            restored_sender_seq=None if snapshot is None else snapshot[0],
            restored_target_seq=None if snapshot is None else snapshot[1],
        )

    def before_logout_sent(self, session_id: fix.SessionID) -> None:
        """Called from toAdmin for every Logout; fixes the sender number after a refusal.

        By now the Logout already carries its MsgSeqNum; QuickFIX increments the sender
        number right after this callback, so setting it one below the remembered value makes
        the increment land back on it and the real session's numbering is untouched.
        """
        key = session_id.toString()
        with self._lock:
            sender = self._refused.pop(key, None)
        if sender is None:
            return
        session = fix.Session.lookupSession(session_id)
        if session is not None:
            session.setNextSenderMsgSeqNum(sender - 1)

    def accepted(self, session_id: fix.SessionID) -> None:
        with self._lock:
            self._snapshots.pop(session_id.toString(), None)
