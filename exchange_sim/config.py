"""Configuration of the exchange simulator: symbols, venues and the whole simulator.

All money values are ``Decimal``; the dataclasses are frozen so a running simulator can
share them between threads without copying.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

# Binance accepts only this alphabet for asset codes; using it here keeps the venue's
# symbol ids ("BTCUSDT") valid under the same check the REST handlers apply.
_ASSET_RE = re.compile(r"^[A-Z0-9]{1,10}$")

# Demo credentials every simulated venue accepts unless its config says otherwise. They are
# published here on purpose and guard nothing: the simulator binds loopback only and holds
# play money. Real venues' keys come from the environment, never from the repository.
DEMO_API_KEY = "sim-api-key"
DEMO_API_SECRET = "sim-api-secret"  # noqa: S105 - a documented demo value, not a secret
# Binance's default spot taker fee (0.1 %).
DEFAULT_TAKER_FEE_BPS = Decimal("10")
# Enough of each asset for a demo desk to hedge for a long while without refills.
DEFAULT_BALANCES: Mapping[str, Decimal] = MappingProxyType(
    {"BTC": Decimal("100"), "ETH": Decimal("2000"), "USDT": Decimal("10000000")}
)


@dataclass(frozen=True, slots=True)
class SimSymbolConfig:
    """One spot market on a simulated venue.

    ``symbol`` is the unified form (``BTC/USDT``); ``mid`` is the starting mid price;
    ``tick``/``lot`` are the price and quantity steps; ``levels`` is the book depth per
    side; ``volatility_bps`` is the standard deviation of one update step of the mid.
    """

    symbol: str
    base: str
    quote: str
    mid: Decimal
    tick: Decimal
    lot: Decimal
    min_notional: Decimal
    levels: int = 20
    volatility_bps: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        for asset in (self.base, self.quote):
            if not _ASSET_RE.match(asset):
                raise ValueError(f"asset code {asset!r} must match {_ASSET_RE.pattern}")
        if self.symbol != f"{self.base}/{self.quote}":
            raise ValueError(f"symbol {self.symbol!r} must be {self.base}/{self.quote}")
        for name in ("mid", "tick", "lot", "min_notional", "volatility_bps"):
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
        if self.tick <= 0 or self.lot <= 0 or self.mid <= 0:
            raise ValueError("mid, tick and lot must be positive")
        if self.min_notional < 0 or self.volatility_bps < 0:
            raise ValueError("min_notional and volatility_bps must not be negative")
        if self.levels < 1:
            raise ValueError("levels must be at least 1")

    @property
    def binance_id(self) -> str:
        """The exchange-native symbol id, e.g. ``BTCUSDT``."""
        return f"{self.base}{self.quote}"


@dataclass(frozen=True, slots=True)
class SimVenueConfig:
    """One simulated venue: its name, port (0 = pick a free one), seed and markets.

    Order entry accepts requests signed with ``api_key``/``api_secret``, charges
    ``taker_fee_bps`` on every fill and starts the venue's one account with
    ``initial_balances`` (asset -> free amount; assets not listed start at zero).
    """

    name: str
    port: int
    seed: int
    symbols: tuple[SimSymbolConfig, ...]
    update_interval_ms: int = 100
    api_key: str = DEMO_API_KEY
    api_secret: str = DEMO_API_SECRET
    taker_fee_bps: Decimal = DEFAULT_TAKER_FEE_BPS
    initial_balances: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_BALANCES)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("venue name must not be empty")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} out of range")
        if not self.symbols:
            raise ValueError(f"venue {self.name} needs at least one symbol")
        ids = [s.binance_id for s in self.symbols]
        if len(set(ids)) != len(ids):
            raise ValueError(f"venue {self.name} lists a symbol twice")
        if self.update_interval_ms < 1:
            raise ValueError("update_interval_ms must be at least 1")
        if not self.api_key or not self.api_secret:
            raise ValueError(f"venue {self.name} needs a non-empty api_key and api_secret")
        if not isinstance(self.taker_fee_bps, Decimal) or not 0 <= self.taker_fee_bps < 10000:
            raise ValueError("taker_fee_bps must be a Decimal in [0, 10000)")
        for asset, amount in self.initial_balances.items():
            if not _ASSET_RE.match(asset):
                raise ValueError(f"balance asset {asset!r} must match {_ASSET_RE.pattern}")
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                raise ValueError(f"balance of {asset} must be a non-negative Decimal")
        # A frozen config must not change under a running venue through the caller's dict.
        object.__setattr__(self, "initial_balances", MappingProxyType(dict(self.initial_balances)))


@dataclass(frozen=True, slots=True)
class SimConfig:
    """The whole simulator: every venue plus the (loopback-only) host to bind.

    ``reference_seed`` drives the shared reference walk that all venues quoting the same
    symbol follow, so their mids stay close while each venue adds its own seeded basis.
    """

    venues: tuple[SimVenueConfig, ...]
    host: str = "127.0.0.1"
    reference_seed: int = 0

    def __post_init__(self) -> None:
        # The simulator has no auth at all (admin API included), so it must never be
        # reachable from another machine.
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"simulator binds loopback addresses only, got {self.host!r}")
        names = [v.name for v in self.venues]
        if len(set(names)) != len(names):
            raise ValueError("venue names must be unique")
        fixed_ports = [v.port for v in self.venues if v.port != 0]
        if len(set(fixed_ports)) != len(fixed_ports):
            raise ValueError("two venues share a port")


def default_symbols() -> tuple[SimSymbolConfig, ...]:
    """BTC/USDT and ETH/USDT with Binance's real tick/lot steps and minimum notional."""
    return (
        SimSymbolConfig(
            symbol="BTC/USDT",
            base="BTC",
            quote="USDT",
            mid=Decimal("60000"),
            tick=Decimal("0.01"),
            lot=Decimal("0.00001"),
            min_notional=Decimal("5"),
            levels=20,
            volatility_bps=Decimal("0.5"),
        ),
        SimSymbolConfig(
            symbol="ETH/USDT",
            base="ETH",
            quote="USDT",
            mid=Decimal("3000"),
            tick=Decimal("0.01"),
            lot=Decimal("0.0001"),
            min_notional=Decimal("5"),
            levels=20,
            volatility_bps=Decimal("0.7"),
        ),
    )


def default_sim_config(
    ports: Sequence[int] = (18081, 18082, 18083), update_interval_ms: int = 100
) -> SimConfig:
    """Three venues ``sim-a``, ``sim-b``, ``sim-c`` on ``ports`` with seeds 1, 2, 3."""
    names = ("sim-a", "sim-b", "sim-c")
    if len(ports) != len(names):
        raise ValueError(f"default_sim_config needs {len(names)} ports, got {len(ports)}")
    symbols = default_symbols()
    return SimConfig(
        venues=tuple(
            SimVenueConfig(
                name=name,
                port=port,
                seed=seed,
                symbols=symbols,
                update_interval_ms=update_interval_ms,
            )
            for seed, (name, port) in enumerate(zip(names, ports, strict=True), start=1)
        )
    )
