"""The pricing parts of the configuration: ``[pricing]``, ``[tiers.*]`` and per-instrument
skew, inventory and slippage settings."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from desk.config.model import DEFAULT_TIER, PricingConfig, TierConfig

if TYPE_CHECKING:
    from desk.config.loader import Section
    from desk.config.model import InstrumentConfig


MAX_SLIPPAGE_BPS = Decimal(2000)
MAX_TAKER_FEE_BPS = Decimal(1000)


def parse_pricing(s: Section) -> PricingConfig:
    """``[pricing]``: outlier band with hysteresis and the volatility model."""
    band = s.decimal("outlier_band_bps", "50")
    readmit = s.decimal("outlier_readmit_bps", "25")
    if readmit >= band:
        raise s.error(
            "outlier_readmit_bps",
            f"must be below outlier_band_bps ({band}) so an outlier comes back only well inside "
            f"the band, got {readmit}",
        )
    lam = s.decimal("vol_lambda", "0.94")
    if lam >= 1:
        raise s.error("vol_lambda", f"must be between 0 and 1 (exclusive), got {lam}")
    config = PricingConfig(
        outlier_band_bps=band,
        outlier_readmit_bps=readmit,
        vol_bar_ms=s.integer("vol_bar_ms", 1000, minimum=10),
        vol_lambda=lam,
        vol_multiplier=s.decimal("vol_multiplier", "1", positive=False),
        vol_floor_bps=s.decimal("vol_floor_bps", "1", positive=False),
        expected_hedge_ms=s.integer("expected_hedge_ms", 2000),
    )
    s.reject_unknown()
    return config


def parse_instrument_pricing(t: Section) -> dict[str, Any]:
    """An instrument's skew, inventory and slippage keys, as InstrumentConfig arguments."""
    over = t.string("over_slippage", "reject")
    if over not in ("reject", "penalty"):
        raise t.error("over_slippage", f'must be "reject" or "penalty", got {over!r}')
    penalty = t.decimal("slippage_penalty_bps", "0", positive=False)
    if over == "penalty" and penalty <= 0:
        raise t.error("slippage_penalty_bps", 'must be > 0 when over_slippage = "penalty"')
    # No default: an instrument without inventory_limit has no limit.
    limit = t.decimal("inventory_limit") if "inventory_limit" in t.data else None
    max_slippage = t.decimal("max_slippage_bps", "100")
    # Bounded so that a penalised bid (best * (1 - (slippage + penalty) / 10000)) stays positive.
    for name, value in (("max_slippage_bps", max_slippage), ("slippage_penalty_bps", penalty)):
        if value > MAX_SLIPPAGE_BPS:
            raise t.error(name, f"must be at most {MAX_SLIPPAGE_BPS} bps, got {value}")
    return {
        "skew_bps_per_unit": t.decimal("skew_bps_per_unit", "0", positive=False),
        "skew_cap_bps": t.decimal("skew_cap_bps", "0", positive=False),
        "inventory_limit": limit,
        "max_slippage_bps": max_slippage,
        "over_slippage": over,
        "slippage_penalty_bps": penalty,
    }


def parse_tiers(s: Section, instruments: Mapping[str, InstrumentConfig]) -> dict[str, TierConfig]:
    """``[tiers.<name>]``; the ``standard`` tier exists even when not configured."""
    tiers = {DEFAULT_TIER: TierConfig(DEFAULT_TIER)}
    for name in s.data:
        t = s.table(name)
        limits = t.table("max_qty")
        max_qty: dict[str, Decimal] = {}
        for symbol in limits.data:
            if symbol not in instruments:
                raise limits.error(symbol, "is not a configured instrument")
            max_qty[symbol] = limits.decimal(symbol)
        max_notional = t.decimal("max_notional") if "max_notional" in t.data else None
        tiers[name] = TierConfig(
            name=name,
            spread_multiplier=t.decimal("spread_multiplier", "1", positive=False),
            max_notional=max_notional,
            max_qty=max_qty,
        )
        t.reject_unknown()
    return tiers
