"""The desk's configuration as frozen dataclasses (validated by the loader)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from exchange_sim.config import SimConfig


@dataclass(frozen=True, slots=True)
class InstrumentConfig:
    """One quotable instrument and its limits. Sizes are in base units, notional in quote."""

    symbol: str
    base: str
    quote: str
    tick: Decimal
    lot: Decimal
    min_qty: Decimal
    max_qty: Decimal
    max_notional: Decimal
    quote_ttl_ms: int
    spread_bps: Decimal
    enabled: bool = True
    halted: bool = False


@dataclass(frozen=True, slots=True)
class CounterpartyConfig:
    """A counterparty: its FIX identity, credentials (salted hash only) and limits."""

    comp_id: str
    username: str
    password_hash: str
    allowed_symbols: frozenset[str]
    credit_limit: Decimal
    max_notional: Decimal
    rfq_rate_per_s: Decimal
    rfq_burst: int
    allowed_addresses: tuple[str, ...] = ()
    halted: bool = False


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """An exchange the desk reads books from (and later hedges on) through ccxt."""

    name: str
    ccxt_id: str
    api_url: str | None
    weight: Decimal = Decimal(1)
    api_key_env: str | None = None
    secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class MarketDataConfig:
    """How often books are polled and when they count as stale."""

    poll_interval_ms: int = 250
    stale_after_ms: int = 2000
    depth_levels: int = 20
    min_venues: int = 1
    request_timeout_ms: int = 2000


@dataclass(frozen=True, slots=True)
class FixConfig:
    """The FIX acceptor: identity, port, files and session schedule."""

    comp_id: str = "OTCDESK"
    port: int = 9876
    dictionary: Path = Path("fix_specs/FIX44-desk.xml")
    store_dir: Path = Path("var/fix/store")
    log_dir: Path | None = None
    heartbeat_s: int = 30
    non_stop: bool = True
    start_time: str = "00:00:00"
    end_time: str = "00:00:00"
    max_latency_s: int = 120


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """Everything the desk needs to run; built only by ``load_config``."""

    source: Path
    database_url: str
    fix: FixConfig
    market_data: MarketDataConfig
    instruments: dict[str, InstrumentConfig]
    counterparties: dict[str, CounterpartyConfig]
    venues: tuple[VenueConfig, ...]
    simulator: SimConfig | None
    settlement_lag_days: int = 0
    halted: bool = False
    var_dir: Path = field(default=Path("var"))
