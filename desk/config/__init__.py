"""Desk configuration: frozen, validated objects loaded from TOML."""

from desk.config.loader import ConfigError, load_config
from desk.config.model import (
    CounterpartyConfig,
    DeskConfig,
    FixConfig,
    InstrumentConfig,
    MarketDataConfig,
    VenueConfig,
)

__all__ = [
    "ConfigError",
    "CounterpartyConfig",
    "DeskConfig",
    "FixConfig",
    "InstrumentConfig",
    "MarketDataConfig",
    "VenueConfig",
    "load_config",
]
