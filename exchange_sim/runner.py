"""Ways to run the simulator: in a background thread, or in the foreground for a CLI.

``SimulatorThread`` owns a private asyncio loop in a daemon thread, so synchronous code
(tests, the sync ccxt client, scripts) can use the simulator without an event loop of its
own. ``serve_forever`` runs on the caller's loop until an ``asyncio.Event`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from types import TracebackType

import structlog

from exchange_sim.config import SimConfig
from exchange_sim.server import start_simulator

_log = structlog.get_logger(__name__)


class SimulatorThread:
    """All venues of a :class:`SimConfig`, served from a background thread.

    Use as ``with SimulatorThread(cfg) as sim: ... sim.base_url("sim-a")`` or call
    :meth:`start` / :meth:`stop` explicitly. Ports of 0 in the config are replaced by free
    ports chosen at bind time; :attr:`ports` tells which.
    """

    def __init__(self, config: SimConfig, timeout_s: float = 10.0) -> None:
        """Prepare (but do not start) the simulator; ``timeout_s`` bounds start and stop."""
        self._config = config
        self._timeout_s = timeout_s
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._stop_requested = threading.Event()
        self._error: BaseException | None = None
        self._ports: dict[str, int] = {}
        self._stopped = False

    def start(self) -> None:
        """Start the loop thread and return once every venue is listening.

        Raises ``RuntimeError`` if already started, if a venue cannot bind, or if start-up
        takes longer than ``timeout_s``.
        """
        if self._thread is not None:
            raise RuntimeError("SimulatorThread can only be started once")
        self._thread = threading.Thread(target=self._run, name="exchange-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._timeout_s):
            self.stop()
            raise RuntimeError(f"simulator did not start within {self._timeout_s} s")
        if self._error is not None:
            self._thread.join(self._timeout_s)
            self._stopped = True
            raise RuntimeError(f"simulator failed to start: {self._error}") from self._error
        _log.info("sim.thread.started", ports=self.ports)

    @property
    def ports(self) -> dict[str, int]:
        """Venue name -> bound port (only after :meth:`start` returned)."""
        if not self._ports:
            raise RuntimeError("simulator is not running")
        return dict(self._ports)

    def base_url(self, venue: str) -> str:
        """``http://127.0.0.1:PORT`` of ``venue`` (admin routes live under it)."""
        ports = self.ports
        if venue not in ports:
            raise KeyError(f"no venue named {venue!r}; have {sorted(ports)}")
        return f"http://{self._config.host}:{ports[venue]}"

    def api_url(self, venue: str) -> str:
        """The URL to put in ccxt's ``urls["api"]["public"]`` for ``venue``."""
        return f"{self.base_url(venue)}/api/v3"

    def stop(self) -> None:
        """Shut every venue down and join the thread; safe to call more than once."""
        thread = self._thread
        if thread is None or self._stopped:
            return
        self._stop_requested.set()
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            # A closed loop raises RuntimeError: the thread is then finishing on its own.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)
        thread.join(self._timeout_s)
        if thread.is_alive():
            raise RuntimeError(f"simulator thread did not stop within {self._timeout_s} s")
        self._stopped = True
        self._ports = {}
        _log.info("sim.thread.stopped")

    def __enter__(self) -> SimulatorThread:
        """Start the simulator for the ``with`` block."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the simulator when the ``with`` block ends."""
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:
            if not self._ready.is_set():
                self._error = err
            else:
                _log.exception("sim.thread.crashed")
        finally:
            # Never leave start() waiting for the full timeout after a failure.
            self._ready.set()

    async def _main(self) -> None:
        # Publish loop and event before binding so stop() can always reach them.
        self._stop_event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        running = await start_simulator(self._config)
        try:
            self._ports = running.ports
            self._ready.set()
            # stop() may have run before the event existed; the flag covers that window.
            if not self._stop_requested.is_set():
                await self._stop_event.wait()
        finally:
            await running.stop()


async def serve_forever(
    config: SimConfig,
    stop: asyncio.Event,
    on_ready: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """Serve every venue of ``config`` on the running loop until ``stop`` is set.

    ``on_ready``, if given, is called once with venue name -> bound port when every venue
    is listening (useful with port 0, or for a CLI to print where venues are).
    """
    running = await start_simulator(config)
    try:
        _log.info("sim.serving", ports=running.ports, host=config.host)
        if on_ready is not None:
            on_ready(running.ports)
        await stop.wait()
    finally:
        await running.stop()
        _log.info("sim.stopped")
