"""``desk.vitals``: the desk process's own resource figures, one log line on a fixed schedule.

Every ``[desk] vitals_interval_s`` (60 s by default; 0 turns it off) the desk logs:

* ``rss_kib``: its resident memory (Linux ``/proc``; null elsewhere);
* ``python_blocks``: the memory blocks the interpreter has allocated, i.e. the Python
  objects it holds. Resident memory also moves with what the allocator keeps or returns
  and with the FIX engine's own memory; this count moves only with objects, so a leak of
  Python objects shows as a steady climb here whatever the pages do;
* ``threads``: the Python threads alive;
* ``quotes_held``: the quotes the quote book keeps (live, then ``quote_retention_s`` after
  they expire);
* ``audit_pending``: audit records queued for the writer and not yet committed.

Ops see a leak or a backlog as a trend in one event; the benchmark reads ``python_blocks``
over its steady run.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

import structlog

from desk.clock import Clock
from desk.periodic import PeriodicThread

log = structlog.get_logger("desk")

_STATUS = Path("/proc/self/status")


def rss_kib() -> int | None:
    """This process's resident memory in KiB, where ``/proc`` tells it."""
    try:
        status = _STATUS.read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


class VitalsLog:
    """Logs ``desk.vitals`` every ``interval_s`` (never when it is 0) from a thread of its own."""

    def __init__(
        self,
        interval_s: int,
        quotes_held: Callable[[], int],
        audit_pending: Callable[[], int],
        clock: Clock,
    ) -> None:
        self._quotes_held = quotes_held
        self._audit_pending = audit_pending
        self._thread = (
            PeriodicThread("desk-vitals", interval_s, self.log_once, clock)
            if interval_s > 0
            else None
        )

    def start(self) -> None:
        if self._thread is not None:
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()

    def log_once(self) -> None:
        """One ``desk.vitals`` line now (never raises: it runs on the periodic thread)."""
        try:
            log.info(
                "desk.vitals",
                rss_kib=rss_kib(),
                python_blocks=sys.getallocatedblocks(),
                threads=threading.active_count(),
                quotes_held=self._quotes_held(),
                audit_pending=self._audit_pending(),
            )
        except Exception:
            log.exception("desk.vitals_failed")
