"""The ``[hedging]`` section of the configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desk.config.model import HedgingConfig

if TYPE_CHECKING:
    from desk.config.loader import Section


def parse_hedging(s: Section) -> HedgingConfig:
    """``[hedging]``: the algorithm, its clips and the unhedged-exposure alert."""
    algo = s.string("algo", "router")
    if algo not in ("immediate", "twap", "router"):
        raise s.error("algo", f'must be "immediate", "twap" or "router", got {algo!r}')
    config = HedgingConfig(
        enabled=s.boolean("enabled", True),
        process=s.boolean("process", True),
        algo=algo,  # type: ignore[arg-type]  # checked against the Literal just above
        twap_clips=s.integer("twap_clips", 4, minimum=1),
        twap_horizon_ms=s.integer("twap_horizon_ms", 2000),
        poll_ms=s.integer("poll_ms", 200, minimum=10),
        net_window_ms=s.integer("net_window_ms", 50, minimum=0),
        order_timeout_ms=s.integer("order_timeout_ms", 3000, minimum=100),
        max_attempts=s.integer("max_attempts", 5, minimum=1),
        max_unhedged_notional=s.decimal("max_unhedged_notional", "1000000"),
        max_unhedged_ms=s.integer("max_unhedged_ms", 10_000, minimum=1),
        halt_on_alert=s.boolean("halt_on_alert", True),
    )
    if config.net_window_ms >= config.max_unhedged_ms:
        # A window that long would hold fills back until the unhedged alert fires.
        raise s.error(
            "net_window_ms",
            f"must be below max_unhedged_ms ({config.max_unhedged_ms}), got {config.net_window_ms}",
        )
    s.reject_unknown()
    return config
