"""How much CPU the hypervisor took from this (virtual) machine during a run.

On a shared host, steal time is CPU the guest wanted and did not get: every figure measured
while it is high is slower for reasons outside the desk. The runner reports it so that a
run's figures can be read against it. Linux only (``/proc/stat``); elsewhere ``None``.
"""

from __future__ import annotations

from pathlib import Path

_PROC_STAT = Path("/proc/stat")


def cpu_times() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot, or None where /proc/stat is missing."""
    try:
        first = _PROC_STAT.read_text(encoding="ascii").splitlines()[0]
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    values = [int(v) for v in first.split()[1:]]
    steal = values[7] if len(values) > 7 else 0
    # guest and guest_nice are already counted in user and nice.
    return steal, sum(values[:8])


def steal_pct(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Stolen share of all CPU time between two ``cpu_times`` readings, in percent."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round(100 * (after[0] - before[0]) / (after[1] - before[1]), 1)
