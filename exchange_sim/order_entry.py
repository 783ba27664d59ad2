"""Order entry of one venue wired together: account and matching, signing, faults, routes.

:class:`VenueOrderEntry` is what the venue's aiohttp app mounts: the signed Binance
endpoints (:mod:`exchange_sim.order_api`), their admin routes
(:mod:`exchange_sim.fault_admin`) and the latency middleware, all sharing the venue's one
account and fault state.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

from exchange_sim.fault_admin import FaultAdminApi
from exchange_sim.faults import VenueFaults, latency_middleware
from exchange_sim.order_api import OrderApi
from exchange_sim.signing import ApiCredentials, RequestVerifier
from exchange_sim.trading import VenueTrading
from exchange_sim.venue import SimVenue, server_time_ms


class VenueOrderEntry:
    """The order-entry state of ``venue`` and the routes that serve it."""

    def __init__(self, venue: SimVenue) -> None:
        """Credentials, fee and starting balances come from the venue's config."""
        config = venue.config
        self.faults = VenueFaults()
        self.trading = VenueTrading(venue, server_time_ms)
        verifier = RequestVerifier(
            ApiCredentials(config.api_key, config.api_secret), server_time_ms
        )
        self._api = OrderApi(venue, self.trading, self.faults, verifier, server_time_ms)
        self._admin = FaultAdminApi(venue.name, self.trading, self.faults)

    def routes(self) -> list[web.RouteDef]:
        """The signed ``/api/v3/`` routes and the order-entry ``/admin/`` routes."""
        return [*self._api.routes(), *self._admin.routes()]

    async def on_shutdown(self, app: web.Application) -> None:
        """``app.on_shutdown`` hook: answers held back by a fault go out now."""
        self._api.close()

    def middleware(self) -> Middleware:
        """Delays every ``/api/`` request by the venue's injected latency."""
        return latency_middleware(self.faults)
