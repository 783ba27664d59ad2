"""Lookups by key stay lookups as the ledger grows: trigger plans on PostgreSQL, one index.

Revision ID: 0008_keyed_lookups
Revises: 0007_sqlite_audit_time
Create Date: 2026-11-22

PL/pgSQL keeps the plan of each query in a function for the life of the connection, and after
five calls it may switch to a generic plan made for the table as it is at that moment. The
desk's connections live as long as the desk, and they start when its tables are empty: the
journal's balance check (``journal_entry_must_balance``, run for every posting and every
journal entry at commit) got generic plans that read ``postings`` from end to end, and kept
them while the table grew. Every booking then read the whole journal, fifteen times. Measured
on a fresh database, one desk connection booking 2 000 trades: the booking's p50 went from
2.7 ms to 10.9 ms, and ``postings`` had been scanned 19 853 times, 79 million rows read.

Each query in these functions finds rows by a key that has an index (``postings.entry_key``,
``journal_entries.entry_key``, ``audit_log.seq``). Disallowing sequential scans inside the
functions (``SET enable_seqscan = off`` on the function: in force only while it runs) makes
every plan, generic or not, use those indexes; the same 2 000 bookings then scanned
``postings`` 3 times and the p50 stayed flat. The other option, planning every query anew
(``plan_cache_mode = force_custom_plan``), was flat too but slower by the planning.

SQLite has no such plan cache: its triggers are unchanged.

Both databases: ``hedge_intents.batch_id`` gets an index. Closing a hedge batch marks its
intents by ``batch_id``, which had none, so every batch read every intent ever booked.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_keyed_lookups"
down_revision: str | Sequence[str] | None = "0007_sqlite_audit_time"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The trigger functions that read a table by key: the journal's balance check and the audit
# chain's read of the last row.
KEYED_TRIGGER_FUNCTIONS = ("journal_entry_must_balance()", "audit_log_chain()")


def upgrade() -> None:
    """The intents' batch index; on PostgreSQL, sequential scans off inside the keyed trigger
    functions."""
    op.create_index("ix_hedge_intents_batch_id", "hedge_intents", ["batch_id"])
    if op.get_context().dialect.name != "postgresql":
        return
    for function in KEYED_TRIGGER_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET enable_seqscan = off")


def downgrade() -> None:
    """The functions plan as the session does again; the index is dropped."""
    if op.get_context().dialect.name == "postgresql":
        for function in KEYED_TRIGGER_FUNCTIONS:
            op.execute(f"ALTER FUNCTION {function} RESET enable_seqscan")
    op.drop_index("ix_hedge_intents_batch_id", table_name="hedge_intents")
