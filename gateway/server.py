"""The running desk server: desk core + FIX acceptor (+ the embedded simulator on request)."""

from __future__ import annotations

import os
import sys
from types import TracebackType

import structlog

from desk.clock import Clock
from desk.config.model import DeskConfig
from desk.core import DeskCore
from exchange_sim.config import DEMO_API_KEY, DEMO_API_SECRET
from exchange_sim.runner import SimulatorThread
from gateway.acceptor import FixGateway
from gateway.logon_guard import Credentials
from gateway.settings import AcceptorSpec, SessionSpec

# Each call a quote makes across the binding (about five) hands the GIL to any thread that
# waits for it, and the quote asks for it back after this long. In 4 interleaved pairs
# of runs, 0.1 ms instead of 0.5 ms cut the closed-loop RFQ p99 in every pair (3.2-4.1 ->
# 2.0-3.3 ms) and the 1 000/s open-loop p99 in 3 of 4; pipelined fills booked 4-10 % fewer
# per second (more switches while the booking thread contends).
GIL_SWITCH_INTERVAL_S = 0.0001

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
        # QuickFIX's connection threads call into Python and must wait for the GIL, and the
        # market-data and simulator threads hold it in 5 ms slices by default (a burst of
        # depth events every 100 ms on the simulator). A short switch interval keeps that
        # wait small: it is on every FIX message's path, and it is the
        # window in which a dropped connection's thread (its socket already closed) can
        # still poll a descriptor number that a new socket has reused.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        try:
            if self.simulator is not None:
                self.simulator.start()
                _default_simulator_credentials(self.config)
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
            if self.core is not None:
                # Queued orders are booked and answered while their sessions are still up;
                # an order arriving meanwhile is booked on its session's thread.
                self.core.orders.stop()
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


def _default_simulator_credentials(config: DeskConfig) -> None:
    """Venues that read API keys from the environment get the simulator's published demo pair
    when the variables are unset and the desk runs its own simulator (play money on loopback;
    real keys always come from the environment)."""
    for venue in config.venues:
        if venue.api_key_env:
            os.environ.setdefault(venue.api_key_env, DEMO_API_KEY)
        if venue.secret_env:
            os.environ.setdefault(venue.secret_env, DEMO_API_SECRET)
