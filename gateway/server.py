"""The running desk server: desk core + FIX acceptor (+ the embedded simulator on request)."""

from __future__ import annotations

from types import TracebackType

import structlog

from desk.clock import Clock
from desk.config.model import DeskConfig
from desk.core import DeskCore
from exchange_sim.runner import SimulatorThread
from gateway.acceptor import FixGateway
from gateway.logon_guard import Credentials
from gateway.settings import AcceptorSpec, SessionSpec

log = structlog.get_logger("gateway.server")


def acceptor_spec(config: DeskConfig) -> AcceptorSpec:
    """The acceptor settings for ``config``: one session per counterparty."""
    fix = config.fix
    return AcceptorSpec(
        desk_comp_id=fix.comp_id,
        port=fix.port,
        dictionary=fix.dictionary,
        store_dir=fix.store_dir,
        log_dir=fix.log_dir,
        heartbeat_s=fix.heartbeat_s,
        non_stop=fix.non_stop,
        start_time=fix.start_time,
        end_time=fix.end_time,
        max_latency_s=fix.max_latency_s,
        sessions=tuple(
            SessionSpec(cp.comp_id, cp.allowed_addresses) for cp in config.counterparties.values()
        ),
    )


class DeskServer:
    """Starts the simulator (optional), the desk core and the gateway; stops them in reverse."""

    def __init__(self, config: DeskConfig, clock: Clock, *, with_simulator: bool = False) -> None:
        if with_simulator and config.simulator is None:
            raise ValueError(f"{config.source}: no [simulator] section to start")
        self.config = config
        self.simulator = (
            SimulatorThread(config.simulator) if with_simulator and config.simulator else None
        )
        self.core: DeskCore | None = None
        self.gateway: FixGateway | None = None
        self._clock = clock

    def start(self) -> None:
        try:
            if self.simulator is not None:
                self.simulator.start()
            self.core = DeskCore(self.config, self._clock)
            self.core.start()
            credentials = {
                cp.comp_id: Credentials(cp.comp_id, cp.username, cp.password_hash)
                for cp in self.config.counterparties.values()
            }
            self.gateway = FixGateway(
                acceptor_spec(self.config),
                credentials,
                self.core,
                self._clock,
                self.config.var_dir / "fix" / "quickfix.cfg",
            )
            self.gateway.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.core is not None:
            self.core.stop()
            self.core = None
        if self.simulator is not None:
            self.simulator.stop()

    def __enter__(self) -> DeskServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
