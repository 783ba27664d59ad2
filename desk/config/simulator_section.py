"""The ``[simulator]`` section: which simulated venues to run and on which ports."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from exchange_sim.config import SimConfig, SimSymbolConfig, SimVenueConfig, default_symbols

if TYPE_CHECKING:
    from desk.config.loader import Section
    from desk.config.model import InstrumentConfig


def _symbols(
    s: Section, instruments: Mapping[str, InstrumentConfig]
) -> tuple[SimSymbolConfig, ...]:
    """One simulated market per desk instrument; mids default to the simulator's own."""
    defaults = {sym.symbol: sym for sym in default_symbols()}
    overrides = s.table("symbols")
    for name in overrides.data:
        if name not in instruments:
            raise overrides.error(name, "is not a configured instrument")
    symbols = []
    for name, inst in instruments.items():
        builtin = defaults.get(name)
        if name in overrides.data:
            table = overrides.table(name)
            mid = table.decimal("mid", None if builtin is None else str(builtin.mid))
            vol = table.decimal(
                "volatility_bps",
                "1" if builtin is None else str(builtin.volatility_bps),
                positive=False,
            )
            table.reject_unknown()
        elif builtin is not None:
            mid, vol = builtin.mid, builtin.volatility_bps
        else:
            raise overrides.error(name, "needs a starting mid (no built-in default)")
        symbols.append(
            SimSymbolConfig(
                symbol=name,
                base=inst.base,
                quote=inst.quote,
                mid=mid,
                tick=inst.tick,
                lot=inst.lot,
                min_notional=builtin.min_notional if builtin else Decimal(5),
                levels=builtin.levels if builtin else 20,
                volatility_bps=vol,
            )
        )
    return tuple(symbols)


def parse_simulator(s: Section, instruments: Mapping[str, InstrumentConfig]) -> SimConfig:
    """Build the simulator's config; its markets mirror the desk's instruments."""
    update_interval_ms = s.integer("update_interval_ms", 100, minimum=1)
    reference_seed = s.integer("reference_seed", 0)
    symbols = _symbols(s, instruments)
    venues: list[SimVenueConfig] = []
    for v in s.tables("venues"):
        try:
            venues.append(
                SimVenueConfig(
                    name=v.string("name", required=True),
                    port=v.integer("port", 0),
                    seed=v.integer("seed", len(venues) + 1),
                    symbols=symbols,
                    update_interval_ms=update_interval_ms,
                )
            )
        except ValueError as exc:
            raise v.error("(venue)", str(exc)) from None
        v.reject_unknown()
    if not venues:
        raise s.error("venues", "at least one [[simulator.venues]] entry is required")
    s.reject_unknown()
    try:
        return SimConfig(venues=tuple(venues), reference_seed=reference_seed)
    except ValueError as exc:
        raise s.error("venues", str(exc)) from None
