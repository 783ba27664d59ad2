"""The audit writer's own process: ``python -m desk.audit.writer_process FD``.

Started by ``ProcessBatches`` with one end of a pipe as ``FD``. It reads the database URL and
the desk's logging settings first and answers ``ready``, then reads batches. It commits each
batch on a deferred-durability connection (``EngineBatches``: in order, a few records per
transaction) and answers ``None``, or how many of the batch's records it committed and why it
could not commit the rest. It ends on ``None``, or when the desk's end of the pipe closes
(the desk exited or died), after finishing the batch in hand. Ctrl-C in the desk's terminal
reaches this process too; it ignores it and lets the desk drain its queue through it.

It runs at a lower priority than the desk (``NICENESS``): its work is a batch every 100 ms
that nothing waits for, and on a machine with few cores it shares them with the FIX thread and
the counterparties' own processes. At the same priority a woken FIX thread could wait for the
writer's time slice, a few milliseconds; niced, the writer gives way at once and takes the
idle time between requests. Measured on the benchmark's 2-core machine (five pairs of runs):
closed-loop RFQ p99 about a quarter lower, the 2 000/s open-loop step under 5 ms in four runs
out of five instead of two, Accept->Fill unchanged.
"""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing.connection import Connection

import structlog

from desk.audit.batch_writers import READY, AuditWriteFailed, EngineBatches
from desk.ledger.database import make_engines
from desk.log_setup import LogSettings, configure_logging

log = structlog.get_logger("desk.audit")

# Added to the writer's niceness (a lower priority than the desk's; see above).
NICENESS = 10


def serve(pipe: Connection) -> None:
    url, settings = pipe.recv()
    assert isinstance(settings, LogSettings)  # noqa: S101 - sent by ProcessBatches
    configure_logging(settings.fmt, settings.level, stream=getattr(sys, settings.stream))
    try:
        os.nice(NICENESS)
    except OSError as exc:  # never refused for a lower priority; if it is, run as we are
        log.warning("audit.writer_priority_unchanged", error=str(exc))
    try:
        engines = make_engines(url)
    except Exception as exc:
        pipe.send(f"{type(exc).__name__}: {exc}")
        return
    batches = EngineBatches(engines.deferred)
    pipe.send(READY)
    try:
        while True:
            try:
                batch = pipe.recv()
            except EOFError:
                return
            if batch is None:
                return
            try:
                batches.write(batch)
            except AuditWriteFailed as exc:
                log.exception("audit.process_write_failed", records=len(batch))
                pipe.send((exc.written, str(exc)))
            except Exception as exc:
                log.exception("audit.process_write_failed", records=len(batch))
                pipe.send((0, f"{type(exc).__name__}: {exc}"))
            else:
                pipe.send(None)
    finally:
        engines.dispose()


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with Connection(int(sys.argv[1])) as pipe:
        serve(pipe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
