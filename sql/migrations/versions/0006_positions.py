"""Positions: the desk's one net position per instrument, kept by the database.

Revision ID: 0006_positions
Revises: 0005_compliance
Create Date: 2026-11-21

``positions`` holds, per symbol, the net base quantity over every booked fill (client and
exchange; buys positive). An AFTER INSERT trigger on ``fills`` adds each new fill to its
symbol's row in the same transaction, so the row can never disagree with the fills that are
committed, whoever inserts them. The hedger reads one row when it opens a batch instead of
summing every fill of the symbol, which grew with the ledger (``tests/ledger`` hold the row
to the sum of the fills on both backends).

* PostgreSQL: a PL/pgSQL trigger function upserts ``qty = qty + signed fill``. The row lock it
  takes is held to the commit, so concurrent bookings in one symbol queue on it for one
  commit each. Every transaction that books a fill also appends to the audit chain, whose
  trigger holds an advisory lock to the commit (0004_audit); this trigger takes that lock
  first, so the two are always taken in the same order. (Taken the other way round by a
  client booking and a hedger booking at once, they deadlocked: PostgreSQL broke each one
  after a second.)
* SQLite: decimals are canonical TEXT, so the sum is done by ``desk_decimal_add(a, b)``, which
  the desk registers on every connection (``desk.ledger.database``) like the audit chain's
  functions; a shell without it can read positions but not book fills.

The upgrade fills the table from the fills already booked.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from desk.ledger.column_types import DecimalType, exact_sum

revision: str = "0006_positions"
down_revision: str | Sequence[str] | None = "0005_compliance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit chain's advisory lock key ("deskaudt"), as in 0004_audit.
PG_AUDIT_LOCK = 0x6465736B61756474
PG_FUNCTION = f"""
CREATE FUNCTION desk_apply_fill_to_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({PG_AUDIT_LOCK});
    INSERT INTO positions (symbol, qty)
    VALUES (NEW.symbol, CASE WHEN NEW.side = 'BUY' THEN NEW.qty ELSE -NEW.qty END)
    ON CONFLICT (symbol) DO UPDATE SET qty = positions.qty + EXCLUDED.qty;
    RETURN NULL;
END
$$
"""  # noqa: S608 - DDL from this module's constants, no input
PG_TRIGGER = """
CREATE TRIGGER trg_fills_position AFTER INSERT ON fills
FOR EACH ROW EXECUTE FUNCTION desk_apply_fill_to_position()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER trg_fills_position AFTER INSERT ON fills
BEGIN
    INSERT INTO positions (symbol, qty) VALUES (NEW.symbol, '0')
    ON CONFLICT (symbol) DO NOTHING;
    UPDATE positions
    SET qty = desk_decimal_add(qty, CASE WHEN NEW.side = 'BUY' THEN NEW.qty
                                         ELSE '-' || NEW.qty END)
    WHERE symbol = NEW.symbol;
END
"""

_fills = sa.table("fills", sa.column("symbol"), sa.column("side"), sa.column("qty", DecimalType()))
_positions = sa.table("positions", sa.column("symbol"), sa.column("qty", DecimalType()))


def _backfill(conn: sa.Connection) -> None:
    signed: dict[str, list[Decimal]] = {}
    for symbol, side, qty in conn.execute(sa.select(_fills.c.symbol, _fills.c.side, _fills.c.qty)):
        signed.setdefault(symbol, []).append(qty if side == "BUY" else -qty)
    if signed:
        conn.execute(
            sa.insert(_positions),
            [{"symbol": s, "qty": exact_sum(q)} for s, q in sorted(signed.items())],
        )


def upgrade() -> None:
    """Create positions, fill it from the booked fills, keep it current with a trigger."""
    op.create_table(
        "positions",
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("qty", DecimalType(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", name="pk_positions"),
    )
    _backfill(op.get_bind())
    if op.get_context().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    """Drop the trigger, its function and the table (fills keep every position)."""
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_fills_position ON fills")
        op.execute("DROP FUNCTION desk_apply_fill_to_position()")
    else:
        op.execute("DROP TRIGGER trg_fills_position")
    op.drop_table("positions")
