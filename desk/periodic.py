"""A step run on a fixed schedule on a daemon thread of its own, until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable

from desk.clock import Clock


class PeriodicThread:
    """Calls ``step`` every ``period_s`` on a thread named ``name``. The schedule is fixed:
    the next call follows it, not the time a call took. ``step`` must not raise (an
    exception would end the thread, and every call after it)."""

    def __init__(self, name: str, period_s: float, step: Callable[[], None], clock: Clock) -> None:
        self._name = name
        self._period_s = period_s
        self._step = step
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        next_at = self._clock.monotonic() + self._period_s
        while not self._stop.wait(max(0.0, next_at - self._clock.monotonic())):
            next_at = max(next_at + self._period_s, self._clock.monotonic())
            self._step()
