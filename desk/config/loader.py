"""Load and validate the desk's TOML configuration; every error names the file and the key."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from desk.config.hedging_section import parse_hedging
from desk.config.model import (
    DEFAULT_QUOTE_RETENTION_S,
    DEFAULT_TIER,
    DEFAULT_VITALS_INTERVAL_S,
    CounterpartyConfig,
    DeskConfig,
    FixConfig,
    InstrumentConfig,
    MarketDataConfig,
    TierConfig,
    VenueConfig,
)
from desk.config.pricing_section import (
    MAX_TAKER_FEE_BPS,
    parse_instrument_pricing,
    parse_pricing,
    parse_tiers,
)
from desk.config.simulator_section import parse_simulator

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "desk.toml"


class ConfigError(ValueError):
    """Invalid configuration; the message names the file and the key."""

    def __init__(self, source: Path, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem


class Section:
    """A TOML table that knows its file and dotted key, and reads typed values from it."""

    def __init__(self, source: Path, key: str, data: Mapping[str, Any]) -> None:
        self.source = source
        self.key = key
        self.data = data
        self._read: set[str] = set()

    def _path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self._path(name), problem)

    def _get(self, name: str, default: Any, required: bool) -> Any:
        self._read.add(name)
        if name not in self.data:
            if required:
                raise self.error(name, "is required")
            return default
        return self.data[name]

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self._get(name, default, required)
        if not isinstance(value, str) or not value:
            raise self.error(name, f"must be a non-empty string, got {value!r}")
        return value

    def opt_string(self, name: str) -> str | None:
        value = self._get(name, None, False)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(name, f"must be a non-empty string, got {value!r}")
        return value

    def integer(self, name: str, default: int | None = None, *, minimum: int = 0) -> int:
        value = self._get(name, default, default is None)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"must be an integer, got {value!r}")
        if value < minimum:
            raise self.error(name, f"must be >= {minimum}, got {value}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name, default, False)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {value!r}")
        return value

    def decimal(self, name: str, default: str | None = None, *, positive: bool = True) -> Decimal:
        value = self._get(name, default, default is None)
        # Floats are refused: a TOML float has already lost the exact decimal the user wrote.
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(
                name, f'must be a decimal written as a string, e.g. "0.01"; got {value!r}'
            )
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.error(name, f"is not a decimal number: {value!r}") from None
        if not number.is_finite():
            raise self.error(name, f"must be finite, got {value!r}")
        if positive and number <= 0:
            raise self.error(name, f"must be > 0, got {value}")
        if not positive and number < 0:
            raise self.error(name, f"must be >= 0, got {value}")
        return number

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self._get(name, default or [], False)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(name, f"must be a list of strings, got {value!r}")
        return list(value)

    def table(self, name: str, *, required: bool = False) -> Section:
        value = self._get(name, {}, required)
        if not isinstance(value, dict):
            raise self.error(name, "must be a table")
        return Section(self.source, self._path(name), value)

    def tables(self, name: str) -> list[Section]:
        value = self._get(name, [], False)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(name, "must be an array of tables ([[...]])")
        return [Section(self.source, f"{self._path(name)}[{i}]", v) for i, v in enumerate(value)]

    def path(self, name: str, default: str, base: Path) -> Path:
        value = Path(self.string(name, default))
        return value if value.is_absolute() else (base / value).resolve()

    def reject_unknown(self) -> None:
        """Refuse keys nobody read: a typo must not silently fall back to a default."""
        for name in self.data:
            if name not in self._read:
                raise self.error(name, "is not a known setting")


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> DeskConfig:
    """Read the desk configuration (``DESK_CONFIG`` or the shipped default) and validate it."""
    env = os.environ if env is None else env
    source = Path(path or env.get("DESK_CONFIG") or DEFAULT_CONFIG).resolve()
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(source, "(file)", "does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "(syntax)", str(exc)) from None
    base = source.parent
    root = Section(source, "", raw)

    desk = root.table("desk")
    var_dir = desk.path("var_dir", "../var", base)
    default_db = f"sqlite:///{var_dir / 'desk.db'}"
    # Read the file's value even when the environment overrides it: it must still be valid.
    database_url = desk.string("database_url", default_db)
    database_url = env.get("DESK_DATABASE_URL") or database_url
    settlement_lag_days = desk.integer("settlement_lag_days", 0)
    halted = desk.boolean("halted", False)
    quote_retention_s = desk.integer("quote_retention_s", DEFAULT_QUOTE_RETENTION_S, minimum=1)
    vitals_interval_s = desk.integer("vitals_interval_s", DEFAULT_VITALS_INTERVAL_S, minimum=0)
    desk.reject_unknown()

    fix = _parse_fix(root.table("fix"), base, var_dir, env)
    market_data = _parse_market_data(root.table("market_data"))
    instruments = _parse_instruments(root.table("instruments", required=True))
    pricing = parse_pricing(root.table("pricing"))
    hedging = parse_hedging(root.table("hedging"))
    tiers = parse_tiers(root.table("tiers"), instruments)
    counterparties = _parse_counterparties(
        root.table("counterparties", required=True), instruments, tiers
    )
    venues = tuple(_parse_venue(section) for section in root.tables("venues"))
    if not venues:
        raise root.error("venues", "at least one [[venues]] entry is required")
    names = [v.name for v in venues]
    if len(set(names)) != len(names):
        raise root.error("venues", f"venue names must be unique, got {names}")
    if market_data.min_venues > len(venues):
        raise ConfigError(
            source,
            "market_data.min_venues",
            f"is {market_data.min_venues} but only {len(venues)} venues are configured",
        )
    sim_section = root.table("simulator")
    simulator = parse_simulator(sim_section, instruments) if "simulator" in raw else None
    root.reject_unknown()
    return DeskConfig(
        source=source,
        database_url=database_url,
        fix=fix,
        market_data=market_data,
        instruments=instruments,
        counterparties=counterparties,
        venues=venues,
        simulator=simulator,
        settlement_lag_days=settlement_lag_days,
        halted=halted,
        quote_retention_s=quote_retention_s,
        vitals_interval_s=vitals_interval_s,
        var_dir=var_dir,
        pricing=pricing,
        tiers=tiers,
        hedging=hedging,
    )


def _parse_fix(s: Section, base: Path, var_dir: Path, env: Mapping[str, str]) -> FixConfig:
    port = s.integer("port", 9876, minimum=1)
    if port > 65535:
        raise s.error("port", f"must be a TCP port, got {port}")
    if "DESK_FIX_PORT" in env:
        text = env["DESK_FIX_PORT"]
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise ConfigError(
                Path("(environment)"), "DESK_FIX_PORT", f"must be a TCP port 1-65535, got {text!r}"
            )
        port = int(text)
    dictionary = s.path("dictionary", "../fix_specs/FIX44-desk.xml", base)
    if not dictionary.is_file():
        raise s.error("dictionary", f"file not found: {dictionary}")
    log_dir_raw = s.opt_string("log_dir")
    config = FixConfig(
        comp_id=s.string("comp_id", "OTCDESK"),
        port=port,
        dictionary=dictionary,
        store_dir=s.path("store_dir", str(var_dir / "fix" / "store"), base),
        log_dir=None if log_dir_raw is None else _resolve(log_dir_raw, base),
        heartbeat_s=s.integer("heartbeat_s", 30, minimum=1),
        non_stop=s.boolean("non_stop", True),
        start_time=s.string("start_time", "00:00:00"),
        end_time=s.string("end_time", "00:00:00"),
        max_latency_s=s.integer("max_latency_s", 120, minimum=1),
    )
    s.reject_unknown()
    return config


def _resolve(value: str, base: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (base / path).resolve()


def _parse_market_data(s: Section) -> MarketDataConfig:
    config = MarketDataConfig(
        poll_interval_ms=s.integer("poll_interval_ms", 250, minimum=10),
        stale_after_ms=s.integer("stale_after_ms", 2000, minimum=1),
        depth_levels=s.integer("depth_levels", 20, minimum=1),
        min_venues=s.integer("min_venues", 1, minimum=1),
        request_timeout_ms=s.integer("request_timeout_ms", 2000, minimum=1),
        streaming=s.boolean("streaming", True),
        stream_retry_ms=s.integer("stream_retry_ms", 2000, minimum=10),
        process=s.boolean("process", True),
    )
    s.reject_unknown()
    return config


def _parse_instruments(s: Section) -> dict[str, InstrumentConfig]:
    instruments: dict[str, InstrumentConfig] = {}
    for symbol in s.data:
        t = s.table(symbol)
        base, sep, quote = symbol.partition("/")
        if not sep or not base or not quote or "/" in quote:
            raise s.error(symbol, 'instrument names are unified symbols like "BTC/USDT"')
        inst = InstrumentConfig(
            symbol=symbol,
            base=base,
            quote=quote,
            tick=t.decimal("tick"),
            lot=t.decimal("lot"),
            min_qty=t.decimal("min_qty"),
            max_qty=t.decimal("max_qty"),
            max_notional=t.decimal("max_notional"),
            quote_ttl_ms=t.integer("quote_ttl_ms", 5000, minimum=1),
            spread_bps=t.decimal("spread_bps", positive=False),
            enabled=t.boolean("enabled", True),
            halted=t.boolean("halted", False),
            **parse_instrument_pricing(t),
        )
        if inst.spread_bps >= 1000:
            raise t.error("spread_bps", f"must be below 1000 (10%), got {inst.spread_bps}")
        if inst.min_qty > inst.max_qty:
            raise t.error("min_qty", f"{inst.min_qty} is above max_qty {inst.max_qty}")
        t.reject_unknown()
        instruments[symbol] = inst
    if not instruments:
        raise ConfigError(s.source, "instruments", "at least one instrument is required")
    return instruments


def _parse_counterparties(
    s: Section, instruments: Mapping[str, InstrumentConfig], tiers: Mapping[str, TierConfig]
) -> dict[str, CounterpartyConfig]:
    counterparties: dict[str, CounterpartyConfig] = {}
    usernames: set[str] = set()
    for comp_id in s.data:
        t = s.table(comp_id)
        allowed = t.strings("allowed_symbols", sorted(instruments))
        for symbol in allowed:
            if symbol not in instruments:
                raise t.error("allowed_symbols", f"{symbol!r} is not a configured instrument")
        password_hash = t.string("password_hash", required=True)
        if not password_hash.startswith("scrypt$"):
            raise t.error(
                "password_hash",
                "must be a salted hash made by `otc-desk hash-password` (never a plain password)",
            )
        cp = CounterpartyConfig(
            comp_id=comp_id,
            username=t.string("username", required=True),
            password_hash=password_hash,
            allowed_symbols=frozenset(allowed),
            credit_limit=t.decimal("credit_limit"),
            max_notional=t.decimal("max_notional"),
            rfq_rate_per_s=t.decimal("rfq_rate_per_s", "20"),
            rfq_burst=t.integer("rfq_burst", 40, minimum=1),
            allowed_addresses=tuple(t.strings("allowed_addresses")),
            halted=t.boolean("halted", False),
            tier=t.string("tier", DEFAULT_TIER),
        )
        if cp.tier not in tiers:
            raise t.error("tier", f"{cp.tier!r} is not a configured tier; have {sorted(tiers)}")
        if cp.username in usernames:
            raise t.error("username", f"{cp.username!r} is used by another counterparty")
        usernames.add(cp.username)
        t.reject_unknown()
        counterparties[comp_id] = cp
    if not counterparties:
        raise ConfigError(s.source, "counterparties", "at least one counterparty is required")
    return counterparties


def _parse_venue(s: Section) -> VenueConfig:
    venue = VenueConfig(
        name=s.string("name", required=True),
        ccxt_id=s.string("ccxt_id", required=True),
        api_url=s.opt_string("api_url"),
        weight=s.decimal("weight", "1"),
        api_key_env=s.opt_string("api_key_env"),
        secret_env=s.opt_string("secret_env"),
        ws_url=s.opt_string("ws_url"),
        taker_fee_bps=s.decimal("taker_fee_bps", "10", positive=False),
    )
    if venue.taker_fee_bps > MAX_TAKER_FEE_BPS:
        raise s.error(
            "taker_fee_bps", f"must be at most {MAX_TAKER_FEE_BPS}, got {venue.taker_fee_bps}"
        )
    s.reject_unknown()
    return venue
