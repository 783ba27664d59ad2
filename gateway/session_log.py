"""QuickFIX Log director: lets the logon guard see each raw Logon before the engine acts."""

from __future__ import annotations

import quickfix as fix

from gateway.logon_guard import LogonGuard


class GuardedLog(fix.Log):  # type: ignore[misc] # SWIG director base class is untyped
    """Per-session log: feeds the logon guard and forwards to QuickFIX's file log if any."""

    def __init__(self, session_id: fix.SessionID | None, guard: LogonGuard, inner: fix.Log | None) -> None:
        super().__init__()
        self._session_id = session_id
        self._guard = guard
        self._inner = inner

    def clear(self) -> None:
        if self._inner is not None:
            self._inner.clear()

    def backup(self) -> None:
        if self._inner is not None:
            self._inner.backup()

    def onIncoming(self, text: str) -> None:  # noqa: N802 - QuickFIX's name
        # An exception escaping a director kills the process: nothing here may raise.
        try:
            if self._session_id is not None:
                self._guard.on_raw_incoming(self._session_id, text)
            if self._inner is not None:
                self._inner.onIncoming(text)
        except Exception:  # noqa: BLE001, S110 - logging must never take the session down
            pass

    def onOutgoing(self, text: str) -> None:  # noqa: N802
        try:
            if self._inner is not None:
                self._inner.onOutgoing(text)
        except Exception:  # noqa: BLE001, S110
            pass

    def onEvent(self, text: str) -> None:  # noqa: N802
        try:
            if self._inner is not None:
                self._inner.onEvent(text)
        except Exception:  # noqa: BLE001, S110
            pass


class GuardedLogFactory(fix.LogFactory):  # type: ignore[misc] # SWIG director base class
    """Makes a GuardedLog per session; keeps every Log alive as long as the acceptor."""

    def __init__(self, guard: LogonGuard, inner: fix.LogFactory | None) -> None:
        super().__init__()
        self._guard = guard
        self._inner = inner
        self._logs: list[GuardedLog] = []

    def create(self, *args: fix.SessionID) -> GuardedLog:
        session_id = args[0] if args else None
        inner = None
        if self._inner is not None:
            inner = self._inner.create(session_id) if session_id is not None else self._inner.create()
        log = GuardedLog(session_id, self._guard, inner)
        self._logs.append(log)
        return log

    def destroy(self, log: fix.Log) -> None:
        # Python owns these objects; they are released with the factory.
        return None
