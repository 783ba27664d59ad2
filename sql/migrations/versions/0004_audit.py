"""Audit trail: hash-chained, append-only log of FIX messages, ledger events and ops actions.

Revision ID: 0004_audit
Revises: 0003_journal
Create Date: 2026-11-21

Writers insert ``recorded_at`` .. ``body``; the DATABASE assigns ``seq`` and computes the chain
on insert, on both backends, so no writer (and no bug in one) can produce a row that is out
of the chain:

    field(x)  = 'N'                            when x is NULL
              = 'S' || length(x) || ':' || x   otherwise (length in characters)
    hash      = lower-case hex SHA-256 of the UTF-8 bytes of
                field(prev_hash) || field(seq) || field(recorded_at as UTC text
                'YYYY-MM-DDTHH:MM:SS.ffffffZ') || field(kind) || field(msg_type)
                || field(counterparty) || field(quote_req_id) || field(quote_id)
                || field(cl_ord_id) || field(order_id) || field(reason) || field(body)
    prev_hash = the hash of row seq - 1; NULL on row 1

(The same definition as desk/audit/chain.py and sql/audit/verify_chain.sql; tests hold the
three together.) Two helper functions exist under the same name on both backends, so one
expression serves the triggers and the verification query:
``desk_sha256(text)`` and ``desk_audit_time(recorded_at)``.

* PostgreSQL: SQL functions over the built-in ``sha256()`` (PG >= 11) and ``to_char(... AT
  TIME ZONE 'UTC')`` (session TimeZone and DateStyle cannot change the text). A BEFORE INSERT
  trigger takes a transaction-level advisory lock, then reads the last row and assigns
  ``seq = last + 1``: writers are serialised from the lock to their commit, so chain order is
  seq order even with concurrent transactions (an identity value drawn before the lock would
  not be). Writers must use READ COMMITTED (the default), so the trigger sees the row the
  previous lock holder committed; under REPEATABLE READ a stale snapshot makes the insert
  fail on the primary key rather than fork the chain. The database must be UTF8 so that
  ``length`` counts code points as the desk does.
* SQLite: the desk registers ``desk_sha256`` and ``desk_audit_time`` on every connection
  (``desk.ledger.database``), so a shell without them can read the log but not write it.
  ``seq`` is the rowid; SQLite serialises writers, so rowid order is commit order. An AFTER
  INSERT trigger checks that the new row is last and fills in ``prev_hash`` and ``hash``
  (a BEFORE trigger cannot change NEW on SQLite).
* UPDATE and DELETE (and TRUNCATE on PostgreSQL) are refused by triggers; the only update
  let through on SQLite is the chain trigger's own filling-in of a row's still-empty hash.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desk.ledger.column_types import UtcDateTime

revision: str = "0004_audit"
down_revision: str | Sequence[str] | None = "0003_journal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# pg_advisory_xact_lock key ("deskaudt"): one audit writer at a time, from lock to commit.
PG_AUDIT_LOCK = 0x6465736B61756474
KIND_CHECK = "kind IN ('fix.in', 'fix.out', 'ledger', 'ops')"
NULLABLE_COLUMNS = ("counterparty", "quote_req_id", "quote_id", "cl_ord_id", "order_id", "reason")
APPEND_ONLY = "audit_log is append-only"


def _field(expression: str, nullable: bool) -> str:
    encoded = f"'S' || CAST(length({expression}) AS TEXT) || ':' || {expression}"
    return f"(CASE WHEN {expression} IS NULL THEN 'N' ELSE {encoded} END)" if nullable else encoded


def chained_hash_sql(prev_hash: str, row: str) -> str:
    """The hash expression over ``prev_hash`` and the columns of ``row`` (e.g. ``NEW``)."""
    parts = [
        _field(prev_hash, nullable=True),
        _field(f"CAST({row}.seq AS TEXT)", nullable=False),
        _field(f"desk_audit_time({row}.recorded_at)", nullable=False),
        _field(f"{row}.kind", nullable=False),
        _field(f"{row}.msg_type", nullable=False),
        *(_field(f"{row}.{column}", nullable=True) for column in NULLABLE_COLUMNS),
        _field(f"{row}.body", nullable=False),
    ]
    return "desk_sha256(" + "\n        || ".join(parts) + ")"


PG_FUNCTIONS = [
    """
CREATE FUNCTION desk_sha256(content text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT encode(sha256(convert_to(content, 'UTF8')), 'hex') $$
""",
    """
CREATE FUNCTION desk_audit_time(moment timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$
""",
    f"""
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq integer;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock({PG_AUDIT_LOCK});
    SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    NEW.seq := COALESCE(last_seq, 0) + 1;
    NEW.prev_hash := last_hash;
    NEW.hash := {chained_hash_sql("NEW.prev_hash", "NEW")};
    RETURN NEW;
END
$$
""",  # noqa: S608 - DDL from this module's constants, no input
    f"""
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{APPEND_ONLY}: % refused', TG_OP;
END
$$
""",
    """
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_chain()
""",
    """
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
""",
    """
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
""",
]

_SQLITE_UNCHANGED = " AND ".join(
    f"NEW.{column} IS OLD.{column}"
    for column in ("seq", "recorded_at", "kind", "msg_type", *NULLABLE_COLUMNS, "body")
)
_SQLITE_PREVIOUS_HASH = "(SELECT p.hash FROM audit_log p WHERE p.seq = NEW.seq - 1)"

SQLITE_TRIGGERS = [
    """
CREATE TRIGGER audit_log_chain_columns BEFORE INSERT ON audit_log
WHEN NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit_log: prev_hash and hash are computed by the database');
END
""",
    f"""
CREATE TRIGGER audit_log_chain AFTER INSERT ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log: seq is assigned by the database')
    WHERE NEW.seq <> COALESCE((SELECT max(o.seq) FROM audit_log o WHERE o.seq <> NEW.seq), 0) + 1;
    UPDATE audit_log
    SET prev_hash = {_SQLITE_PREVIOUS_HASH},
        hash = {chained_hash_sql(_SQLITE_PREVIOUS_HASH, "NEW")}
    WHERE seq = NEW.seq;
END
""",  # noqa: S608 - DDL from this module's constants, no input
    f"""
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.hash IS NULL AND OLD.prev_hash IS NULL AND NEW.hash IS NOT NULL
          AND {_SQLITE_UNCHANGED})
BEGIN
    SELECT RAISE(ABORT, '{APPEND_ONLY}: UPDATE refused');
END
""",
    f"""
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, '{APPEND_ONLY}: DELETE refused');
END
""",
]


def upgrade() -> None:
    """Create audit_log with its chain and append-only triggers."""
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        encoding = op.get_bind().exec_driver_sql("SHOW server_encoding").scalar()
        if encoding != "UTF8":
            raise RuntimeError(f"the audit chain needs a UTF8 database, this one is {encoding}")
    op.create_table(
        "audit_log",
        # No identity and no AUTOINCREMENT: the chain trigger assigns seq (PostgreSQL), or the
        # rowid does, checked by the trigger (SQLite; deletes are refused, so never reused).
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("msg_type", sa.String, nullable=False),
        sa.Column("counterparty", sa.String, nullable=True),
        sa.Column("quote_req_id", sa.String, nullable=True),
        sa.Column("quote_id", sa.String, nullable=True),
        sa.Column("cl_ord_id", sa.String, nullable=True),
        sa.Column("order_id", sa.String, nullable=True),
        sa.Column("reason", sa.String, nullable=True),
        sa.Column("body", sa.String, nullable=False),
        sa.Column("prev_hash", sa.String, nullable=True),
        sa.Column("hash", sa.String, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
        sa.CheckConstraint(KIND_CHECK, name="ck_audit_log_kind"),
    )
    # Compliance reads by time range and follows one RFQ / quote / order through the log.
    op.create_index("ix_audit_log_recorded_at", "audit_log", ["recorded_at"])
    op.create_index("ix_audit_log_quote_req_id", "audit_log", ["quote_req_id"])
    op.create_index("ix_audit_log_quote_id", "audit_log", ["quote_id"])
    op.create_index("ix_audit_log_cl_ord_id", "audit_log", ["cl_ord_id"])
    for statement in PG_FUNCTIONS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Drop what this revision created."""
    op.drop_table("audit_log")  # its triggers go with it
    if op.get_context().dialect.name == "postgresql":
        for function in (
            "audit_log_refuse_change()",
            "audit_log_chain()",
            "desk_audit_time(timestamptz)",
            "desk_sha256(text)",
        ):
            op.execute(f"DROP FUNCTION {function}")
