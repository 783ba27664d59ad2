"""The write-behind queue: audit records leave the caller's thread at once and reach the
database in batches from one writer thread, so the quote path never waits for a commit.

``submit`` only appends to an in-memory queue; a ``DeferredRecord`` (a FIX message as it
went over the wire) is turned into its row by the batch writer, so the caller does not
even pay for that. Where the batch is inserted is the ``BatchWriter``'s business: on the
writer thread, or in a process of its own (``desk.audit.batch_writers``). The writer takes
up to ``max_batch`` records once the oldest has waited ``linger_s`` (or the batch is full),
inserts them in order, a few per transaction (``RECORDS_PER_TRANSACTION``), and drops
from the queue what is committed: a failed write is logged and retried from the first
record not committed, in order, behind nothing. ``stop`` writes everything still queued
before it returns; only if the database stays unreachable for ``stop_timeout_s`` are the
remaining records given up, and then each one is logged in full at error level.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from itertools import islice

import structlog

from desk.audit.batch_writers import AuditWriteFailed, BatchWriter, built
from desk.audit.record import AuditRecord, DeferredRecord

log = structlog.get_logger("desk.audit")

MAX_BATCH = 500
# Longer batches cost less per record (one hand-off to the writer process, fewer and fuller
# transactions, never more than RECORDS_PER_TRANSACTION in one). A crash loses at most this
# much of the FIX records from audit_log; QuickFIX's own message store and log still hold them.
LINGER_S = 0.1
RETRY_MIN_S = 0.05
RETRY_MAX_S = 2.0
STOP_TIMEOUT_S = 10.0


class AuditWriter:
    """Batched, ordered, retrying writer of audit records; ``submit`` is safe from any thread."""

    def __init__(
        self,
        batches: BatchWriter,
        *,
        max_batch: int = MAX_BATCH,
        linger_s: float = LINGER_S,
        stop_timeout_s: float = STOP_TIMEOUT_S,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._batches = batches
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._stop_timeout_s = stop_timeout_s
        self._queue: deque[tuple[float, AuditRecord | DeferredRecord]] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def submit(self, record: AuditRecord | DeferredRecord) -> None:
        """Queue ``record``; no I/O, no waiting beyond a short lock."""
        with self._cond:
            self._queue.append((time.monotonic(), record))
            if len(self._queue) == 1 or len(self._queue) >= self._max_batch:
                self._cond.notify()

    def pending(self) -> int:
        """Records queued and not yet committed."""
        with self._cond:
            return len(self._queue)

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is not None:
            raise RuntimeError("the audit writer is already started")
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write everything queued, then end the writer (also drains if never started)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        else:
            self._drain_on_stop()
        self._batches.close()

    # --- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        delay = RETRY_MIN_S
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if self._try_write(batch):
                delay = RETRY_MIN_S
                continue
            with self._cond:
                if self._stopping:
                    break
                self._cond.wait(delay)
            delay = min(delay * 2, RETRY_MAX_S)
        self._drain_on_stop()

    def _next_batch(self) -> list[AuditRecord | DeferredRecord] | None:
        """Wait for a batch worth writing; None once stopping with nothing left."""
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            while not self._stopping and len(self._queue) < self._max_batch:
                remaining = self._queue[0][0] + self._linger_s - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return [record for _, record in islice(self._queue, self._max_batch)]

    def _try_write(self, batch: list[AuditRecord | DeferredRecord]) -> bool:
        try:
            self._batches.write(batch)
        except Exception as exc:
            written = exc.written if isinstance(exc, AuditWriteFailed) else 0
            self._drop(written)
            log.exception(
                "audit.write_failed",
                records=len(batch) - written,
                written=written,
                queued=self.pending(),
            )
            return False
        self._drop(len(batch))
        return True

    def _drop(self, count: int) -> None:
        """The queue's first ``count`` records are committed."""
        with self._cond:
            for _ in range(count):
                self._queue.popleft()

    def _drain_on_stop(self) -> None:
        """Keep writing until the queue is empty or ``stop_timeout_s`` has passed."""
        deadline = time.monotonic() + self._stop_timeout_s
        delay = RETRY_MIN_S
        while True:
            with self._cond:
                batch = [record for _, record in islice(self._queue, self._max_batch)]
            if not batch:
                return
            if self._try_write(batch):
                continue
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
        with self._cond:
            lost = [record for _, record in self._queue]
            self._queue.clear()
        for record in built(lost):
            log.error("audit.record_not_written", **record.as_row())
        log.error("audit.records_not_written", records=len(lost))

