"""The hedger in a process of its own, as the desk sees it: ``start``, ``notify``, ``stop``.

In the desk's process the hedger held the interpreter's lock about as long as the FIX
thread during a stream of fills (routing, SQLAlchemy, ccxt), so every order waited for it.
Here it runs in a child (``desk.hedging.hedger_main``) on its own ledger connections,
venue clients and books. What crosses between the two:

- to the child, a wake-up per booked fill: the symbol, written to a pipe that never
  blocks the desk. A wake-up the pipe cannot take is dropped; the child's poll of the
  outbox (``poll_ms``) finds the intent anyway.
- to the desk, after each exchange fill it books, the hedger's total per asset, which the
  desk's inventory takes as it is (``HedgedSink``): a repeated or lost message costs
  nothing that the next one, or a restarted child's first, does not put right.

A child that dies is started again (after 1 s, doubling up to 30 s while it keeps
failing); it resumes its working batches from the ledger, as a restarted desk does.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from multiprocessing.connection import Connection, Pipe
from typing import Any

import structlog

from desk.config.model import DeskConfig
from desk.hedging.hedger_main import SCAN_ALL, STOP
from desk.hedging.positions import HedgedSink
from desk.log_setup import logging_settings

log = structlog.get_logger("desk.hedging")

# A new interpreter importing ccxt and SQLAlchemy, then opening the ledger: seconds on a
# busy host.
START_TIMEOUT_S = 60.0
# The child's own stop lets running batches reach a safe point (up to 10 s).
STOP_TIMEOUT_S = 20.0
# A child that never became ready has no batch to finish: it gets this long to exit.
UNREADY_EXIT_S = 1.0
RESTART_MIN_S = 1.0
RESTART_MAX_S = 30.0


class HedgerProcess:
    """Starts, feeds and restarts the hedger's process; ``notify`` is safe from any thread."""

    def __init__(
        self,
        config: DeskConfig,
        on_hedged: HedgedSink,
        *,
        start_timeout_s: float = START_TIMEOUT_S,
        restart_min_s: float = RESTART_MIN_S,
        command: Callable[[int, int], list[str]] | None = None,
    ) -> None:
        """``command``: the child's argv for its pipe and wake-up descriptors (tests use it
        to start a child that fails)."""
        # The simulator's section is not the hedger's business (and does not pickle).
        self._config = replace(config, simulator=None)
        self._on_hedged = on_hedged
        self._start_timeout_s = start_timeout_s
        self._restart_min_s = restart_min_s
        self._command = command or _hedger_command
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._send_lock = threading.Lock()
        # Held while writing to the wake-up pipe and while closing it: a descriptor number
        # closed under a writer could be reused at once by a socket or a database file.
        self._wake_lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._pipe: Connection | None = None
        self._wake_fd: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The hedger's pid while one runs."""
        child = self._child
        return None if child is None else child.pid

    def start(self) -> None:
        """Start the child and the thread that hears from it; returns at once."""
        self._thread = threading.Thread(target=self._run, name="hedger-link", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until a child hedges (True), or ``timeout`` s (False: it keeps trying)."""
        return self._ready.wait(timeout)

    def notify(self, symbol: str | None = None) -> None:
        """A client fill in ``symbol`` was booked (no symbol: look at the whole outbox)."""
        line = f"{SCAN_ALL if symbol is None else symbol}\n".encode("ascii", "replace")
        with self._wake_lock:
            if self._wake_fd is None:
                return  # no child right now: the next one scans the outbox when it starts
            # Under PIPE_BUF bytes, so written whole or not at all; never waits.
            with contextlib.suppress(OSError):
                os.write(self._wake_fd, line)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Ask the child to stop (running batches reach a safe point), then wait for it."""
        self._stopping.set()
        with self._send_lock:
            pipe = self._pipe
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.send(STOP)
        child = self._child
        if child is not None:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("hedge.process_stop_timeout", pid=child.pid, timeout_s=timeout)
                child.kill()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # --- the link thread -----------------------------------------------------------------
    def _run(self) -> None:
        delay = self._restart_min_s
        while not self._stopping.is_set():
            ready = False
            try:
                ready = self._spawn()
                if ready:
                    delay = self._restart_min_s
                    self._listen()
            except Exception:
                log.exception("hedge.process_link_failed")
            finally:
                self._ready.clear()
                code = self._forget_child(STOP_TIMEOUT_S if ready else UNREADY_EXIT_S)
            if self._stopping.is_set():
                log.info("hedge.process_exited", exit_code=code)
                return
            log.error(
                "hedge.process_exited",
                exit_code=code,
                was_ready=ready,
                restart_in_s=delay,
            )
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RESTART_MAX_S)

    def _spawn(self) -> bool:
        """Start a child and wait for its ``ready``; False if it could not start."""
        ours, theirs = Pipe(duplex=True)
        wake_read, wake_write = os.pipe()
        try:
            os.set_blocking(wake_write, False)
            self._child = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
                self._command(theirs.fileno(), wake_read),
                pass_fds=(theirs.fileno(), wake_read),
            )
        except BaseException:
            ours.close()
            os.close(wake_write)
            raise
        finally:
            theirs.close()
            os.close(wake_read)
        with self._wake_lock:
            self._wake_fd = wake_write
        try:
            # The configuration holds the database URL (maybe a password): the pipe, not argv.
            with self._send_lock:
                self._pipe = ours
                ours.send((self._config, logging_settings()))
                if self._stopping.is_set():  # stop() came before there was a pipe to tell
                    ours.send(STOP)
            if not ours.poll(self._start_timeout_s):
                reason = f"not ready in {self._start_timeout_s} s"
                log.error("hedge.process_start_failed", reason=reason)
                return False
            said = ours.recv()
        except (EOFError, OSError):
            log.error("hedge.process_start_failed", reason="it exited before it was ready")
            return False
        if not (isinstance(said, tuple) and said and said[0] == "ready"):
            reason = said[1] if isinstance(said, tuple) and len(said) > 1 else repr(said)
            log.error("hedge.process_start_failed", reason=reason)
            return False
        self._take_totals(said[1])
        log.info("hedge.process_started", pid=self._child.pid)
        self._ready.set()
        return True

    def _listen(self) -> None:
        """Apply the child's totals until it goes away."""
        pipe = self._pipe
        assert pipe is not None  # noqa: S101 - set by _spawn
        while True:
            try:
                message: Any = pipe.recv()
            except (EOFError, OSError):
                return
            if isinstance(message, tuple) and len(message) == 3 and message[0] == "hedged":
                self._apply(message[1], message[2])
            else:
                log.error("hedge.process_message_unknown", message=repr(message))

    def _take_totals(self, totals: Any) -> None:
        if isinstance(totals, dict):
            for asset, total in totals.items():
                self._apply(asset, total)

    def _apply(self, asset: Any, total: Any) -> None:
        if not (isinstance(asset, str) and isinstance(total, Decimal)):
            log.error("hedge.process_message_unknown", message=repr((asset, total)))
            return
        try:
            self._on_hedged(asset, total)
        except Exception:
            log.exception("hedge.position_update_failed", asset=asset)

    def _forget_child(self, grace_s: float) -> int | None:
        """Close our ends, give the child ``grace_s`` to exit, kill it if it lingers; its
        exit code."""
        with self._wake_lock:
            wake, self._wake_fd = self._wake_fd, None
            if wake is not None:
                os.close(wake)
        with self._send_lock:
            pipe, self._pipe = self._pipe, None
        if pipe is not None:
            pipe.close()
        child, self._child = self._child, None
        if child is None:
            return None
        try:
            return child.wait(grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait(STOP_TIMEOUT_S)


def _hedger_command(pipe_fd: int, wake_fd: int) -> list[str]:
    return [sys.executable, "-m", "desk.hedging.hedger_main", str(pipe_fd), str(wake_fd)]
