"""Pricing assembled: composite from the in-memory snapshot, volatility, inventory, tiers."""

from __future__ import annotations

from decimal import Decimal

from desk.clock import Clock
from desk.config.model import DeskConfig, InstrumentConfig, TierConfig
from desk.marketdata.snapshot import MarketSnapshot
from desk.positions.inventory import Inventory
from desk.pricing.composite import CompositeBuilder, HealthyBooks, NoMarket
from desk.pricing.quote_pricer import TwoWayPrice, price_two_way
from desk.pricing.volatility import VolatilityBook


class PricingEngine:
    """Reads only memory: the market snapshot, the volatility estimates and the inventory."""

    def __init__(
        self,
        config: DeskConfig,
        snapshot: MarketSnapshot,
        clock: Clock,
        inventory: Inventory,
        volatility: VolatilityBook,
    ) -> None:
        self._config = config
        self._snapshot = snapshot
        self._clock = clock
        self._builder = CompositeBuilder(config.venues, config.market_data, config.pricing)
        self.inventory = inventory
        self.volatility = volatility

    def healthy(self, symbol: str) -> HealthyBooks:
        """The venues usable for ``symbol`` now; raises NoMarket."""
        return self._builder.healthy(
            symbol, self._snapshot.books_for(symbol), self._clock.monotonic()
        )

    def composite_mid(self, symbol: str) -> Decimal | None:
        """The top-of-book composite mid, or None without a reliable market (vol sampling)."""
        try:
            return self.healthy(symbol).top().fair
        except NoMarket:
            return None

    def price(
        self, instrument: InstrumentConfig, tier: TierConfig, books: HealthyBooks, qty: Decimal
    ) -> TwoWayPrice:
        """Both sides for ``qty``; raises ExcessSlippage (see price_two_way).

        Between two book updates every RFQ for the same size, tier, volatility and inventory
        gets the same price: it is computed once and remembered with the books (an RFQ
        stream of round sizes prices from memory; a refused size is priced every time).
        """
        sigma_bps = self.volatility.sigma_bps(instrument.symbol)
        inventory = self.inventory.net(instrument.base)
        pricing = self._config.pricing
        return books.remember(
            ("two_way", instrument.symbol, tier.name, qty, sigma_bps, inventory),
            lambda: price_two_way(
                instrument, pricing, tier, books, qty, sigma_bps=sigma_bps, inventory=inventory
            ),
        )
