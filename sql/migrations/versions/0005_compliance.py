"""Compliance: views for the compliance queries and a read-only role.

Revision ID: 0005_compliance
Revises: 0004_audit
Create Date: 2026-11-21

The views hide what PostgreSQL and SQLite spell differently (a UTC day, a negated decimal, a
JSON field), so each query in ``sql/compliance/`` is one text that runs on both. On SQLite the
decimals stay canonical TEXT: a negation is a '-' prefix, never arithmetic (which would go
through a float). On PostgreSQL the revision also creates ``compliance_ratio`` (the SQLite
twin is registered on the connection by ``desk.compliance.sqlite_exact``) and the NOLOGIN role
``desk_compliance`` that may read every table and view and write nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_compliance"
down_revision: str | Sequence[str] | None = "0004_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPLIANCE_ROLE = "desk_compliance"

# The RFQ side of the audit trail: QuoteRequest in, Quote or QuoteRequestReject out.
RFQ_EVENTS = """
CREATE VIEW rfq_events AS
SELECT seq,
       recorded_at,
       counterparty,
       CASE WHEN kind = 'fix.in' THEN 'REQUEST'
            WHEN msg_type = 'S' THEN 'QUOTE'
            ELSE 'REJECT' END AS event,
       quote_req_id,
       quote_id,
       reason,
       CASE WHEN kind = 'fix.out' AND msg_type = 'S' THEN {pricing} END AS pricing
FROM audit_log
WHERE (kind = 'fix.in' AND msg_type = 'R')
   OR (kind = 'fix.out' AND msg_type IN ('S', 'AG'))
"""
# Both return the canonical (compact, sorted) JSON text of the quote's pricing inputs as it
# was written: PostgreSQL's json (not jsonb) keeps the input text, SQLite returns it minified.
PRICING = {
    "postgresql": "(body::json -> 'pricing')::text",
    "sqlite": "json_extract(body, '$.pricing')",
}

# Client trades with their UTC day and the quantity signed from the client's side.
TRADE_AMOUNTS = """
CREATE VIEW trade_amounts AS
SELECT trade_id,
       executed_at,
       {trade_date} AS trade_date,
       counterparty,
       symbol,
       side,
       qty,
       CASE WHEN side = 'BUY' THEN qty ELSE {minus_qty} END AS signed_qty,
       price,
       notional,
       currency
FROM trades
"""
TRADE_DATE = {
    "postgresql": "(executed_at AT TIME ZONE 'UTC')::date",
    "sqlite": "substr(executed_at, 1, 10)",  # fixed-width UTC ISO text: its first 10 chars
}
MINUS_QTY = {"postgresql": "-qty", "sqlite": "'-' || qty"}  # qty > 0, canonical text

# Postings on a counterparty's account ('counterparty:<CompID>'), with their booking time.
COUNTERPARTY_POSTINGS = """
CREATE VIEW counterparty_postings AS
SELECT p.id AS posting_id,
       p.entry_key,
       j.booked_at,
       substr(p.account, 14) AS counterparty,
       p.asset,
       p.amount
FROM postings p
JOIN journal_entries j ON j.entry_key = p.entry_key
WHERE substr(p.account, 1, 13) = 'counterparty:'
"""

# Settlement obligations with the instant they fall due: 00:00 UTC of the settlement date.
SETTLEMENT_SCHEDULE = """
CREATE VIEW settlement_schedule AS
SELECT id AS obligation_id,
       trade_id,
       counterparty,
       asset,
       amount,
       settl_date,
       {settles_at} AS settles_at,
       created_at
FROM settlement_obligations
"""
SETTLES_AT = {
    "postgresql": "(settl_date::timestamp AT TIME ZONE 'UTC')",
    "sqlite": "settl_date || 'T00:00:00.000000+00:00'",  # UtcDateTime's text form
}

VIEWS = ("rfq_events", "trade_amounts", "counterparty_postings", "settlement_schedule")

# round(numerator / denominator, 4), half away from zero; NULL when there is nothing to divide.
PG_RATIO = """
CREATE FUNCTION compliance_ratio(numerator bigint, denominator bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE AS
$$ SELECT round(numerator::numeric / NULLIF(denominator, 0), 4) $$
"""

# Roles belong to the whole server, which several ledgers (and test databases) may share:
# create it only if no one has, and let a concurrent creator win the race quietly.
PG_CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{COMPLIANCE_ROLE}') THEN
        CREATE ROLE {COMPLIANCE_ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$
"""


def _dialect() -> str:
    return str(op.get_context().dialect.name)


def _schema() -> str:
    """The schema the ledger lives in, quoted for DDL."""
    name = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    return str(name)


def upgrade() -> None:
    """Create the shared compliance views; on PostgreSQL also the ratio and the read-only role."""
    dialect = _dialect()
    op.execute(RFQ_EVENTS.format(pricing=PRICING[dialect]))
    op.execute(TRADE_AMOUNTS.format(trade_date=TRADE_DATE[dialect], minus_qty=MINUS_QTY[dialect]))
    op.execute(COUNTERPARTY_POSTINGS)
    op.execute(SETTLEMENT_SCHEDULE.format(settles_at=SETTLES_AT[dialect]))
    if dialect != "postgresql":
        return  # SQLite has neither roles nor stored functions
    op.execute(PG_RATIO)
    op.execute(PG_CREATE_ROLE)
    schema = _schema()
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {COMPLIANCE_ROLE}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {COMPLIANCE_ROLE}")
    # Tables and views that later revisions create (as the migrating user) are readable too.
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {COMPLIANCE_ROLE}"
    )


def downgrade() -> None:
    """Drop the views and the function; take the role's privileges here away (the role itself
    may serve other databases on the server, so it stays)."""
    if _dialect() == "postgresql":
        schema = _schema()
        op.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "  # noqa: S608 - DDL, our own names
            f"REVOKE SELECT ON TABLES FROM {COMPLIANCE_ROLE}"
        )
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {COMPLIANCE_ROLE}")
        op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {COMPLIANCE_ROLE}")
        op.execute("DROP FUNCTION compliance_ratio(bigint, bigint)")
    for view in reversed(VIEWS):
        op.execute(f"DROP VIEW {view}")
