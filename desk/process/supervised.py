"""A helper process the desk starts, hears from on a pipe, and starts again when it dies.

The desk runs two of these (``desk.hedging.own_process``, ``desk.marketdata.own_process``).
Each is ``python -m <module> PIPE_FD [more descriptors]``; over the duplex pipe the desk sends
a start message first (the configuration travels here, not on the command line: it holds the
database URL, maybe a password) and ``STOP`` at the end, and the child answers
``("ready", payload)`` once it works, or ``("failed", reason)``, then whatever messages its
kind sends. A thread of the desk's (the link) starts the child, waits for it to be ready, hands
each message to ``on_message``, and when the child goes away starts another (after
``restart_min_s``, doubling up to ``RESTART_MAX_S`` while it keeps failing).

Log events (``<prefix>`` is the kind's, e.g. ``hedge`` or ``md``): ``<prefix>.process_started``,
``<prefix>.process_start_failed`` (with the reason), ``<prefix>.process_exited`` (exit code,
whether it had been ready, when the next one starts; an error unless the desk is stopping),
``<prefix>.process_message_unknown``, ``<prefix>.process_link_failed``,
``<prefix>.process_stop_timeout``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from typing import Any

import structlog

log = structlog.get_logger("desk.process")

STOP = "stop"
# A new interpreter importing ccxt and SQLAlchemy, then opening the ledger: seconds on a
# busy host.
START_TIMEOUT_S = 60.0
# The child's own stop lets running work reach a safe point (the hedger's batches: 10 s).
STOP_TIMEOUT_S = 20.0
# A child that never became ready has nothing to finish: it gets this long to exit.
UNREADY_EXIT_S = 1.0
RESTART_MIN_S = 1.0
RESTART_MAX_S = 30.0


class SupervisedChild:
    """Starts, hears from and restarts one helper process; subclasses say which and what its
    messages mean."""

    def __init__(
        self,
        *,
        event_prefix: str,
        start_message: Any,
        command: Callable[..., list[str]],
        start_timeout_s: float = START_TIMEOUT_S,
        restart_min_s: float = RESTART_MIN_S,
    ) -> None:
        """``command``: the child's argv, given its pipe's descriptor and those of
        :meth:`_open_channels`."""
        self._prefix = event_prefix
        self._start_message = start_message
        self._command = command
        self._start_timeout_s = start_timeout_s
        self._restart_min_s = restart_min_s
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._send_lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._pipe: Connection | None = None
        self._thread: threading.Thread | None = None

    # --- what a kind of child adds ---------------------------------------------------------
    def _open_channels(self) -> tuple[int, ...]:
        """More descriptors for the next child (its ends; ours are kept by the subclass)."""
        return ()

    def _close_channels(self) -> None:
        """Close our ends of :meth:`_open_channels`' descriptors: that child is gone."""

    def _on_ready(self, payload: Any) -> None:
        """The child's ``ready`` payload."""

    def _on_message(self, message: Any, raw: bytes) -> bool:
        """One message from a ready child (``raw``: as it came, pickled); False if it is not
        one this kind sends."""
        return False

    # --- the desk's side --------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The child's pid while one runs."""
        child = self._child
        return None if child is None else child.pid

    def start(self) -> None:
        """Start the child and the thread that hears from it; returns at once."""
        self._thread = threading.Thread(
            target=self._run, name=f"{self._prefix}-process-link", daemon=True
        )
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until a child works (True), or ``timeout`` s (False: it keeps trying)."""
        return self._ready.wait(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Ask the child to stop (its work reaches a safe point), then wait for it."""
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
                log.error(f"{self._prefix}.process_stop_timeout", pid=child.pid, timeout_s=timeout)
                child.kill()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # --- the link thread --------------------------------------------------------------------
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
                log.exception(f"{self._prefix}.process_link_failed")
            finally:
                self._ready.clear()
                code = self._forget_child(STOP_TIMEOUT_S if ready else UNREADY_EXIT_S)
            if self._stopping.is_set():
                log.info(f"{self._prefix}.process_exited", exit_code=code)
                return
            log.error(
                f"{self._prefix}.process_exited",
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
        extra: tuple[int, ...] = ()
        try:
            extra = self._open_channels()
            self._child = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
                self._command(theirs.fileno(), *extra),
                pass_fds=(theirs.fileno(), *extra),
            )
        except BaseException:
            ours.close()
            self._close_channels()
            raise
        finally:
            theirs.close()
            for fd in extra:
                _close_fd(fd)
        bad_start = f"{self._prefix}.process_start_failed"
        try:
            with self._send_lock:
                self._pipe = ours
                ours.send(self._start_message)
                if self._stopping.is_set():  # stop() came before there was a pipe to tell
                    ours.send(STOP)
            if not ours.poll(self._start_timeout_s):
                log.error(bad_start, reason=f"not ready in {self._start_timeout_s} s")
                return False
            said = ours.recv()
        except (EOFError, OSError):
            log.error(bad_start, reason="it exited before it was ready")
            return False
        if not (isinstance(said, tuple) and said and said[0] == "ready"):
            reason = said[1] if isinstance(said, tuple) and len(said) > 1 else repr(said)
            log.error(bad_start, reason=reason)
            return False
        self._on_ready(said[1] if len(said) > 1 else None)
        log.info(f"{self._prefix}.process_started", pid=self._child.pid)
        self._ready.set()
        return True

    def _listen(self) -> None:
        """Hand the child's messages on until it goes away."""
        pipe = self._pipe
        assert pipe is not None  # noqa: S101 - set by _spawn
        while True:
            try:
                raw = pipe.recv_bytes()
            except (EOFError, OSError):
                return
            try:
                # What Connection.recv does, keeping the bytes for a kind that passes them on.
                message: Any = pickle.loads(raw)  # noqa: S301 - our own child, over our pipe
                known = self._on_message(message, raw)
            except Exception:
                log.exception(f"{self._prefix}.process_message_failed")
                continue
            if not known:
                log.error(f"{self._prefix}.process_message_unknown", message=repr(message)[:200])

    def _forget_child(self, grace_s: float) -> int | None:
        """Close our ends, give the child ``grace_s`` to exit, kill it if it lingers; its
        exit code."""
        self._close_channels()
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


def _close_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
