"""Logon authentication, and sequence numbers kept intact when a Logon is refused.

QuickFIX applies ResetSeqNumFlag=Y *before* the application sees the Logon, so a bad
password with 141=Y would reset a real session's sequence numbers. The guard remembers each
session's numbers whenever they are settled (at start-up, when a session logs out, when a
Logout goes out on a session that is not logged on) and, when authentication fails, puts them
back; the refusing Logout is sent without using up a sequence number of the real session.
Messages the engine already cleared from its store by the reset cannot be brought back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import quickfix as fix
import structlog

from gateway.credentials import verify_password

log = structlog.get_logger("gateway.security")


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
        self._settled: dict[str, tuple[int, int]] = {}
        self._refused: dict[str, int] = {}
        self._lock = threading.Lock()

    def remember_all(self, session_ids: Iterable[fix.SessionID]) -> None:
        """Record every session's numbers as loaded from the store at start-up."""
        for session_id in session_ids:
            self.remember(session_id)

    def remember(self, session_id: fix.SessionID, *, sender: int | None = None) -> None:
        """Record the session's numbers now; ``sender`` overrides a not-yet-incremented one."""
        session = fix.Session.lookupSession(session_id)
        if session is None:
            return
        numbers = (
            sender if sender is not None else session.getExpectedSenderNum(),
            session.getExpectedTargetNum(),
        )
        with self._lock:
            self._settled[session_id.toString()] = numbers

    def check(
        self, session_id: fix.SessionID, username: str | None, password: str | None
    ) -> str | None:
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
            settled = self._settled.get(key)
            if settled is not None:
                self._refused[key] = settled[0]
        session = fix.Session.lookupSession(session_id)
        if settled is not None and session is not None:
            session.setNextTargetMsgSeqNum(settled[1])
        log.warning(
            "security.logon_refused",
            counterparty=comp_id,
            session=key,
            reason=reason,
            restored_sender_seq=None if settled is None else settled[0],
            restored_target_seq=None if settled is None else settled[1],
        )

    def before_logout_sent(self, session_id: fix.SessionID, msg_seq_num: int) -> None:
        """Called from toAdmin for every Logout (which already carries its MsgSeqNum).

        QuickFIX increments the sender number right after this callback. After a refused
        Logon, setting it one below the remembered value makes the increment land back on
        it, so the real session's numbering is untouched.
        """
        key = session_id.toString()
        with self._lock:
            sender = self._refused.pop(key, None)
        session = fix.Session.lookupSession(session_id)
        if session is None:
            return
        if sender is not None:
            session.setNextSenderMsgSeqNum(sender - 1)
        elif not session.isLoggedOn():
            # A Logout outside a session (e.g. MsgSeqNum too low) does use a number.
            self.remember(session_id, sender=msg_seq_num + 1)
