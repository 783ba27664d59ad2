"""The desk's configuration as frozen dataclasses (validated by the loader)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from exchange_sim.config import SimConfig

OverSlippage = Literal["reject", "penalty"]
"""What a request beyond the depth within ``max_slippage_bps`` gets: a reject or a penalty."""

DEFAULT_TIER = "standard"
DEFAULT_QUOTE_RETENTION_S = 600
DEFAULT_VITALS_INTERVAL_S = 60


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
    skew_bps_per_unit: Decimal = Decimal(0)
    skew_cap_bps: Decimal = Decimal(0)
    inventory_limit: Decimal | None = None
    max_slippage_bps: Decimal = Decimal(100)
    over_slippage: OverSlippage = "reject"
    slippage_penalty_bps: Decimal = Decimal(0)


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
    tier: str = DEFAULT_TIER


@dataclass(frozen=True, slots=True)
class TierConfig:
    """A client tier: how much of the desk's margin it pays and how large it may trade.

    ``spread_multiplier`` scales the configured margin (``spread_bps``), never the hedging
    costs or the volatility charge. ``max_qty`` caps the size per instrument (base units);
    ``max_notional`` caps one quote's notional in the instrument's quote currency.
    """

    name: str
    spread_multiplier: Decimal = Decimal(1)
    max_notional: Decimal | None = None
    max_qty: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PricingConfig:
    """Desk-wide pricing parameters: outlier band, volatility model, expected hedge time.

    Volatility is an EWMA (decay ``vol_lambda`` per bar) of squared log returns of the
    composite mid sampled every ``vol_bar_ms``; the spread widens by
    ``vol_multiplier * sigma * sqrt(quote TTL + expected_hedge_ms)``, with sigma never below
    ``vol_floor_bps`` (bps per square-root second).
    """

    outlier_band_bps: Decimal = Decimal(50)
    outlier_readmit_bps: Decimal = Decimal(25)
    vol_bar_ms: int = 1000
    vol_lambda: Decimal = Decimal("0.94")
    vol_multiplier: Decimal = Decimal(1)
    vol_floor_bps: Decimal = Decimal(1)
    expected_hedge_ms: int = 2000


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """An exchange the desk reads books from (and later hedges on) through ccxt."""

    name: str
    ccxt_id: str
    api_url: str | None
    weight: Decimal = Decimal(1)
    api_key_env: str | None = None
    secret_env: str | None = None
    ws_url: str | None = None
    taker_fee_bps: Decimal = Decimal(10)


@dataclass(frozen=True, slots=True)
class MarketDataConfig:
    """Where books come from (streams, REST polling as fallback) and when they count as stale."""

    poll_interval_ms: int = 250
    stale_after_ms: int = 2000
    depth_levels: int = 20
    min_venues: int = 1
    request_timeout_ms: int = 2000
    streaming: bool = True
    stream_retry_ms: int = 2000
    # Run the feed in a process of its own (the desk's books arrive over a pipe) rather than
    # on a thread of the desk's; a desk on an injected clock always uses a thread.
    process: bool = True


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


HedgeAlgo = Literal["immediate", "twap", "router"]


@dataclass(frozen=True, slots=True)
class HedgingConfig:
    """How client risk is hedged on the venues.

    ``immediate`` sends the whole residual at once on the cheapest venue; ``twap`` cuts it
    into ``twap_clips`` clips over ``twap_horizon_ms``; ``router`` is immediate but splits each
    clip across venues by the marginal cost of their current books net of fees (TWAP clips
    are routed the same way). An unhedged exposure above ``max_unhedged_notional`` (quote
    currency) for longer than ``max_unhedged_ms`` raises ``hedge.alert.unhedged`` and, with
    ``halt_on_alert``, halts quoting on that instrument until it is back under the limit.
    ``process``: hedge in a process of its own rather than on a thread of the desk's (it
    cannot for a database that lives in the desk's memory, nor on an injected clock).
    ``net_window_ms``: an instrument's batches open at most this often, so fills booked
    meanwhile are netted into the next one (0: as soon as the previous batch ends).
    """

    enabled: bool = True
    process: bool = True
    algo: HedgeAlgo = "router"
    twap_clips: int = 4
    twap_horizon_ms: int = 2000
    poll_ms: int = 200
    net_window_ms: int = 50
    order_timeout_ms: int = 3000
    max_attempts: int = 5
    max_unhedged_notional: Decimal = Decimal(1_000_000)
    max_unhedged_ms: int = 10_000
    halt_on_alert: bool = True


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
    # How long a quote stays known after it expires, so a late order hears QUOTE_EXPIRED
    # rather than QUOTE_UNKNOWN; the quote book's memory grows with it.
    quote_retention_s: int = DEFAULT_QUOTE_RETENTION_S
    # How often the desk logs ``desk.vitals`` (memory, threads, backlog); 0: never.
    vitals_interval_s: int = DEFAULT_VITALS_INTERVAL_S
    var_dir: Path = field(default=Path("var"))
    pricing: PricingConfig = field(default_factory=PricingConfig)
    tiers: dict[str, TierConfig] = field(
        default_factory=lambda: {DEFAULT_TIER: TierConfig(DEFAULT_TIER)}
    )
    hedging: HedgingConfig = field(default_factory=HedgingConfig)
