"""How a batch is cut into clips over time: immediate, or TWAP over a horizon."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from desk.config.model import HedgingConfig
from desk.domain.money import round_down


@dataclass(frozen=True, slots=True)
class Clip:
    """One slice of a batch: send ``qty`` once ``offset_s`` has passed since the batch opened."""

    offset_s: float
    qty: Decimal


def clip_schedule(config: HedgingConfig, qty: Decimal, lot: Decimal) -> list[Clip]:
    """The clips of a batch of ``qty``; clip sizes are on the lot and sum to ``qty`` rounded
    down to the lot (the rest is dust that stays in the position for the next batch)."""
    total = round_down(qty, lot)
    if config.algo != "twap" or config.twap_clips == 1:
        return [Clip(0.0, total)]
    count = config.twap_clips
    each = round_down(total / count, lot)
    if each <= 0:
        return [Clip(0.0, total)]
    step_s = config.twap_horizon_ms / 1000 / count
    clips = [Clip(i * step_s, each) for i in range(count - 1)]
    clips.append(Clip((count - 1) * step_s, total - each * (count - 1)))
    return clips
