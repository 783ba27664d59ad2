"""The desk's ``desk.vitals`` lines read back from its log for the steady run: how many
Python objects (``python_blocks``) the desk held as the run went on.

RSS moves with the allocator's pages and the FIX engine's own memory as well as with the
desk's objects; ``python_blocks`` counts only the objects, so a leak of Python objects grows
it through the run's second half, where settling memory does not.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

VITALS_EVENT = "desk.vitals"


def vitals_between(log_path: Path, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The ``desk.vitals`` events of the desk's log stamped in [start, end], in order."""
    found: list[dict[str, Any]] = []
    with log_path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if VITALS_EVENT not in line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") != VITALS_EVENT or "ts" not in event:
                continue
            if start <= datetime.fromisoformat(event["ts"]) <= end:
                found.append(event)
    return found


def python_blocks_figures(samples: list[dict[str, Any]], every_s: float) -> dict[str, Any]:
    """The steady run's figures from its vitals: each sample's ``python_blocks`` less the
    first's, and the growth over the second half (last less the middle sample)."""
    blocks = [int(event["python_blocks"]) for event in samples]
    if len(blocks) < 2:
        return {"desk_python_blocks_samples": len(blocks)}
    middle = blocks[(len(blocks) - 1) // 2]
    return {
        "desk_python_blocks_samples": len(blocks),
        "desk_python_blocks_before_steady": blocks[0],
        f"desk_python_blocks_steady_every_{every_s:.0f}_s": [b - blocks[0] for b in blocks],
        "desk_python_blocks_growth_steady": blocks[-1] - blocks[0],
        "desk_python_blocks_growth_steady_second_half": blocks[-1] - middle,
    }
