"""Quoting halts set at run time (by risk alerts), on top of the configured ones."""

from __future__ import annotations

import threading

from desk.audit.record import OpsRecorder


class RuntimeHalts:
    """Instruments on which quoting is halted right now, with why; safe from any thread.

    Each halt and each lifted halt is an ops action for the audit trail, handed to
    ``record_ops`` (which only queues it: halts are set from the hedger's loop).
    """

    def __init__(self, record_ops: OpsRecorder | None = None) -> None:
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()
        self._record_ops = record_ops

    def halt(self, symbol: str, reason: str) -> bool:
        """Halt ``symbol``; True if it was not halted before."""
        with self._lock:
            new = symbol not in self._reasons
            self._reasons[symbol] = reason
        if new and self._record_ops is not None:
            self._record_ops("quoting.halted", {"symbol": symbol, "reason": reason})
        return new

    def resume(self, symbol: str) -> bool:
        """Lift the halt; True if there was one."""
        with self._lock:
            reason = self._reasons.pop(symbol, None)
        if reason is not None and self._record_ops is not None:
            self._record_ops("quoting.resumed", {"symbol": symbol, "halted_for": reason})
        return reason is not None

    def reason(self, symbol: str) -> str | None:
        with self._lock:
            return self._reasons.get(symbol)
