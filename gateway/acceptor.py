"""Starting and stopping the QuickFIX ThreadedSocketAcceptor around a DeskPort."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import quickfix as fix
import structlog

from desk.clock import Clock
from gateway.application import DeskApplication
from gateway.fix_audit import AuditedDesk, FixAudit
from gateway.logon_guard import Credentials, LogonGuard
from gateway.ports import DeskPort
from gateway.settings import AcceptorSpec, write_settings

log = structlog.get_logger("gateway")


class FixGateway:
    """The desk's FIX acceptor; keeps every SWIG object referenced while it runs."""

    def __init__(
        self,
        spec: AcceptorSpec,
        credentials: Mapping[str, Credentials],
        desk: DeskPort,
        clock: Clock,
        settings_path: Path,
    ) -> None:
        spec.store_dir.mkdir(parents=True, exist_ok=True)
        if spec.log_dir is not None:
            spec.log_dir.mkdir(parents=True, exist_ok=True)
        self.spec = spec
        self._settings = fix.SessionSettings(str(write_settings(spec, settings_path)))
        self._guard = LogonGuard(credentials)
        # A desk that keeps an audit trail gets every application message in and out.
        audit = FixAudit(desk.audit if isinstance(desk, AuditedDesk) else None, clock)
        self._application = DeskApplication(desk, self._guard, clock, audit)
        self._store_factory = fix.FileStoreFactory(self._settings)
        self._log_factory = (
            fix.FileLogFactory(self._settings)
            if spec.log_dir is not None
            else fix.ScreenLogFactory(False, False, False)
        )
        self._acceptor = fix.ThreadedSocketAcceptor(
            self._application, self._store_factory, self._settings, self._log_factory
        )
        self._running = False
        self._session_ids = [
            fix.SessionID("FIX.4.4", spec.desk_comp_id, s.comp_id) for s in spec.sessions
        ]

    def start(self) -> None:
        self._acceptor.start()
        self._running = True
        self._guard.remember_all(self._session_ids)
        log.info(
            "gateway.listening",
            port=self.spec.port,
            comp_id=self.spec.desk_comp_id,
            sessions=[s.comp_id for s in self.spec.sessions],
        )

    def stop(self) -> None:
        """Log every session out and close the listener; safe to call twice."""
        if self._running:
            self._running = False
            self._acceptor.stop()
            log.info("gateway.stopped")

    def __enter__(self) -> FixGateway:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
