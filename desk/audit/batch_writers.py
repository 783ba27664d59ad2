"""Where the audit writer's batches are inserted: on its own thread, or in a process of its own.

A batch is written in order, in transactions of at most ``RECORDS_PER_TRANSACTION`` records:
``write`` returns once all of them are committed, and otherwise raises ``AuditWriteFailed``
whose ``written`` says how many of the batch's first records were committed before the
failure (the caller drops those and retries the rest). Every audit row takes the chain's
lock (PostgreSQL's advisory lock, SQLite's write gate) until its transaction commits, and
every client booking writes one: a transaction of 500 chained rows kept a booking waiting
for milliseconds, a short one keeps the wait to about a millisecond. On PostgreSQL a
transaction is one statement on an autocommit connection (``desk.audit.store.append``), so the
lock is released by the server at the statement's commit, not after a round trip of this
process: niced below the desk, it could hold the lock while waiting for a core to send its
COMMIT, and the desk's bookings and the hedger waited behind it.

``EngineBatches`` inserts through an engine of this process. ``ProcessBatches`` hands each
batch to a child process (``desk.audit.writer_process``) and waits for its commit. On
SQLite, inserting audit rows means running the chain trigger's Python functions, and each
of those calls has to take this process's GIL back from the threads on the quote path. In a
process of its own the writer waits for nobody, and nobody waits for it: the desk's thread
only pickles the batch and then blocks on a pipe without the GIL. The desk uses it for every
database but an in-memory SQLite one, which another process cannot open.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection, Pipe
from typing import Protocol, TypeVar

import structlog
from sqlalchemy import Connection as SAConnection
from sqlalchemy import Engine

from desk.audit.record import AuditRecord, DeferredRecord
from desk.audit.store import append
from desk.ledger.database import is_sqlite_in_memory
from desk.ledger.sqlite_checkpoint import checkpoint_wal
from desk.log_setup import logging_settings

log = structlog.get_logger("desk.audit")

Batch = Sequence[AuditRecord | DeferredRecord]
_T = TypeVar("_T")
# A batch waits for the database's locks and its commit; a child that says nothing for this
# long is taken for hung, stopped and replaced, and the batch is retried.
REPLY_TIMEOUT_S = 60.0
# Starting the child means a new interpreter importing SQLAlchemy: seconds on a busy host.
START_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 10.0
READY = "ready"
# The longest a booking waits for the chain's lock behind the audit writer: about 1 ms of
# chaining on PostgreSQL, 2 ms on SQLite (whose hash runs as Python functions). In closed-loop
# fills (hedging off), 32 against 500 took the Accept->Fill p99 from 5.4-5.6 to 3.3 ms on
# SQLite and from 6.5-7.1 to 4.2 ms on PostgreSQL.
RECORDS_PER_TRANSACTION = 32


class AuditWriteFailed(RuntimeError):
    """The batch was not committed in full (the writer process's reason, or its death);
    ``written``: how many of its first records were (0 when not known)."""

    def __init__(self, reason: str, written: int = 0) -> None:
        super().__init__(reason)
        self.written = written


class BatchWriter(Protocol):
    def write(self, batch: Batch) -> None:
        """Commit ``batch`` in order, or raise ``AuditWriteFailed`` saying how much was."""

    def close(self) -> None:
        """Release what the writer holds (after the last ``write``)."""


class EngineBatches:
    """Batches inserted through ``engine``, on the calling thread; on SQLite the log is
    checkpointed after each batch (``desk.ledger.sqlite_checkpoint``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # PostgreSQL: a part is one statement (``append``), its own transaction, so no
        # BEGIN/COMMIT round trip of this process's holds the chain's lock.
        self._one_statement = engine.dialect.name == "postgresql"
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    def write(self, batch: Batch) -> None:
        written = 0
        for start in range(0, len(batch), RECORDS_PER_TRANSACTION):
            part = batch[start : start + RECORDS_PER_TRANSACTION]
            rows = built(part)  # before the transaction: not while holding the chain's lock
            try:
                with self._transaction() as connection:
                    append(connection, rows)
            except Exception as exc:
                raise AuditWriteFailed(f"{type(exc).__name__}: {exc}", written) from exc
            written += len(part)
        checkpoint_wal(self._engine)

    def close(self) -> None:
        """The engine belongs to the caller."""

    def _transaction(self) -> AbstractContextManager[SAConnection]:
        return self._autocommit.connect() if self._one_statement else self._engine.begin()


class ProcessBatches:
    """Batches inserted by a child process on its own connection to ``url``.

    The child starts on the first ``write`` and is started again on the next one after it
    died or stopped answering. A batch it committed without being able to say so (it died
    in between) is written again by the retry: such a crash can duplicate audit rows, never
    lose them.
    """

    def __init__(
        self,
        url: str,
        *,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self._url = url
        self._reply_timeout_s = reply_timeout_s
        self._start_timeout_s = start_timeout_s
        self._child: subprocess.Popen[bytes] | None = None
        self._pipe: Connection | None = None

    @property
    def pid(self) -> int | None:
        """The writer process's pid while it runs."""
        return None if self._child is None else self._child.pid

    def write(self, batch: Batch) -> None:
        payload = _pickled(portable(batch))
        try:
            pipe = self._started()
            pipe.send_bytes(payload)
            if not pipe.poll(self._reply_timeout_s):
                raise AuditWriteFailed(f"no answer from the writer in {self._reply_timeout_s} s")
            reply = pipe.recv()
        except (EOFError, OSError, AuditWriteFailed) as exc:
            # Whatever it committed before it died is written again: duplicated, never lost.
            code = self._stop_child(kill=True)
            raise AuditWriteFailed(f"the audit writer process failed (exit {code}): {exc}") from exc
        if reply is not None:
            written, reason = reply
            raise AuditWriteFailed(str(reason), int(written))

    def close(self) -> None:
        self._stop_child(kill=False)

    def _started(self) -> Connection:
        if self._pipe is not None:
            return self._pipe
        ours, theirs = Pipe(duplex=True)
        try:
            self._child = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
                [sys.executable, "-m", "desk.audit.writer_process", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._pipe = ours
        # The URL (it may hold a password) goes over the pipe, not the command line.
        ours.send((self._url, logging_settings()))
        if not ours.poll(self._start_timeout_s):
            raise AuditWriteFailed(f"the writer was not ready in {self._start_timeout_s} s")
        if (said := ours.recv()) != READY:
            raise AuditWriteFailed(f"the writer could not start: {said}")
        log.info(
            "audit.writer_process_started",
            pid=self._child.pid,
            nice=os.getpriority(os.PRIO_PROCESS, self._child.pid),
        )
        return ours

    def _stop_child(self, *, kill: bool) -> int | None:
        """End the child (asked to, or killed) and forget it; its exit code."""
        child, pipe = self._child, self._pipe
        self._child = self._pipe = None
        if pipe is not None:
            if not kill:
                with contextlib.suppress(OSError):  # already gone: nothing to ask
                    pipe.send(None)
            pipe.close()
        if child is None:
            return None
        if kill:
            child.kill()
        try:
            return child.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait(EXIT_TIMEOUT_S)


def batches_for(url: str, engine: Engine) -> BatchWriter:
    """The desk's choice: a writer process, unless the database lives in this process only."""
    return EngineBatches(engine) if is_sqlite_in_memory(url) else ProcessBatches(url)


def portable(batch: Batch) -> list[AuditRecord | DeferredRecord]:
    """``batch`` in a form another process can build: a record that cannot be made so is
    logged in full and left out, as one that cannot be built is."""
    return _each_deferred(batch, lambda item: item.portable())


def _pickled(items: list[AuditRecord | DeferredRecord]) -> bytes:
    """``items`` as the child reads them. A record that cannot be pickled is logged in full
    and left out: sent with its batch, it would fail that batch on every retry, and hold
    every record behind it."""
    try:
        return pickle.dumps(items)
    except Exception:
        kept = []
        for item in items:
            try:
                pickle.dumps(item)
            except Exception:
                log.exception("audit.record_failed", record=repr(item))
            else:
                kept.append(item)
        return pickle.dumps(kept)


def built(items: Batch) -> list[AuditRecord]:
    """The rows of ``items``, building deferred ones; one that cannot be built is logged in
    full and left out, so it never holds the records behind it."""
    return _each_deferred(items, lambda item: item.build())


def _each_deferred(items: Batch, step: Callable[[DeferredRecord], _T]) -> list[AuditRecord | _T]:
    """``items`` with ``step`` applied to each deferred record; a record ``step`` fails on is
    logged in full (``audit.record_failed``) and left out."""
    done: list[AuditRecord | _T] = []
    for item in items:
        if isinstance(item, AuditRecord):
            done.append(item)
            continue
        try:
            done.append(step(item))
        except Exception:
            log.exception("audit.record_failed", record=repr(item))
    return done
