"""Building each venue's aiohttp application and running all venues on one event loop.

One app per venue, each on its own loopback port, so ccxt clients pointed at different
ports see independent exchanges. :func:`start_simulator` binds every venue and returns a
:class:`RunningSimulator` whose :meth:`~RunningSimulator.stop` tears everything down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import structlog
from aiohttp import web

from exchange_sim.admin import AdminApi
from exchange_sim.binance_api import BinanceSpotApi, binance_middleware
from exchange_sim.config import SimConfig, SimVenueConfig
from exchange_sim.depth_stream import DepthStreams
from exchange_sim.order_entry import VenueOrderEntry
from exchange_sim.venue import SimVenue

_log = structlog.get_logger(__name__)
# Upper bound on how long stop() waits for in-flight requests; keeps shutdown bounded
# even if a client holds a request open.
_SHUTDOWN_TIMEOUT_S = 2.0

ExtraRoutes = Callable[[SimVenue], Iterable[web.AbstractRouteDef]]
"""Given a venue, the additional routes to mount on its app."""


def _updates_ctx(venue: SimVenue) -> Callable[[web.Application], AsyncIterator[None]]:
    """Cleanup context running the venue's update loop for the app's lifetime."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(venue.run_updates(), name=f"sim-updates-{venue.name}")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


def build_venue_app(
    venue: SimVenue, extra_routes: Iterable[web.AbstractRouteDef] = ()
) -> web.Application:
    """The aiohttp app of one venue: Binance market data and depth stream, signed order
    entry with its fault injection, admin API, updates.

    ``extra_routes`` lets other parts of the simulator join the same app, and so the same
    port, outage switch and books.
    """
    orders = VenueOrderEntry(venue)
    # Latency outermost, so an outage answer is delayed like any other.
    app = web.Application(middlewares=[orders.middleware(), binance_middleware(venue)])
    streams = DepthStreams(venue)
    app.add_routes(BinanceSpotApi(venue).routes())
    app.add_routes(orders.routes())
    app.add_routes(streams.routes())
    app.add_routes(AdminApi(venue, streams).routes())
    app.on_shutdown.append(streams.on_shutdown)
    app.on_shutdown.append(orders.on_shutdown)
    app.add_routes(list(extra_routes))
    app.cleanup_ctx.append(_updates_ctx(venue))
    return app


@dataclass(slots=True)
class RunningVenue:
    """A venue that is bound and serving."""

    venue: SimVenue
    runner: web.AppRunner
    host: str
    port: int

    @property
    def base_url(self) -> str:
        """``http://host:port`` of this venue."""
        return f"http://{self.host}:{self.port}"


@dataclass(slots=True)
class RunningSimulator:
    """Every running venue, by name; :meth:`stop` shuts them all down."""

    venues: dict[str, RunningVenue] = field(default_factory=dict)

    @property
    def ports(self) -> dict[str, int]:
        """Venue name -> actually bound port."""
        return {name: rv.port for name, rv in self.venues.items()}

    async def stop(self) -> None:
        """Stop every venue's server and update loop (safe to call more than once)."""
        while self.venues:
            name, running = self.venues.popitem()
            try:
                await running.runner.cleanup()
            except Exception:
                # Keep going: one venue failing to close must not leave the others bound.
                _log.exception("sim.venue.stop_failed", venue=name)
            else:
                _log.info("sim.venue.stopped", venue=name, port=running.port)


async def _start_venue(
    config: SimConfig, venue_config: SimVenueConfig, extra: ExtraRoutes | None
) -> RunningVenue:
    venue = SimVenue(venue_config, reference_seed=config.reference_seed)
    app = build_venue_app(venue, extra(venue) if extra else ())
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, venue_config.port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    # runner.addresses reports the real port, which matters when the config says 0.
    port = int(runner.addresses[0][1])
    _log.info(
        "sim.venue.listening",
        venue=venue.name,
        host=config.host,
        port=port,
        symbols=[s.symbol for s in venue_config.symbols],
        update_interval_ms=venue_config.update_interval_ms,
    )
    return RunningVenue(venue=venue, runner=runner, host=config.host, port=port)


async def start_simulator(
    config: SimConfig,
    extra_routes: ExtraRoutes | None = None,
) -> RunningSimulator:
    """Bind and start every venue in ``config``; all or nothing.

    ``extra_routes``, if given, is called once per venue for additional routes to mount
    on that venue's app. If any venue fails to bind, the ones already started are
    stopped and the error is raised.
    """
    running = RunningSimulator()
    try:
        for venue_config in config.venues:
            running.venues[venue_config.name] = await _start_venue(
                config, venue_config, extra_routes
            )
    except BaseException:
        await running.stop()
        raise
    return running
