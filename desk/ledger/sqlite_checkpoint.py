"""SQLite's WAL checkpoints, moved off the booking's path.

In WAL mode every commit appends to the log, and a checkpoint copies the log back into the
database file (it syncs the log, copies, then syncs the file). By default SQLite runs one
inside whichever commit takes the log past 1 000 pages: with about 40 pages per booked
trade, one client booking in twenty-five or so paid for it, and it paid while holding the
file's write gate (``desk.ledger.sqlite_write_gate``), so every writer queued behind it paid
too. In closed-loop fills that was the tail of both: commits over 1 ms in 5 % of bookings
(p99 2.3 ms against a bare commit's 0.4 ms), waits for the gate over 1 ms in 3 %.

So every connection's automatic checkpoint is set far out (``WAL_AUTOCHECKPOINT_PAGES``: a
backstop that keeps the log bounded if nothing else checkpoints), and the audit writer, which
commits a batch every 100 ms below the desk's priority and off the quote and order paths,
checkpoints after each batch (``checkpoint_wal``). The checkpoint is PASSIVE: it takes no
write lock and waits for no one, so bookings go on appending to the log meanwhile; frames a
reader still uses stay in the log for the next one. A checkpoint changes nothing about
durability: a committed transaction is already synced in the log.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine

log = structlog.get_logger("desk.ledger")

# 40 MiB of log at 4 KiB pages: about 1 000 booked trades with no checkpoint in between.
WAL_AUTOCHECKPOINT_PAGES = 10_000
_CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"


def checkpoint_wal(engine: Engine) -> None:
    """Checkpoint the log of ``engine``'s SQLite file as far as readers allow; nothing for
    another database. A failure is logged (``ledger.wal_checkpoint_failed``), never raised:
    the next checkpoint, or the backstop, catches up."""
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(_CHECKPOINT).close()
    except Exception as exc:
        log.warning("ledger.wal_checkpoint_failed", error=f"{type(exc).__name__}: {exc}")
