"""Hedging: canonical fills, hedge batches (netted intents) and exchange orders.

Revision ID: 0002_hedging
Revises: 0001_foundation
Create Date: 2026-11-21

``fills`` holds every fill the desk books, client trades and exchange fills alike, from the
desk's side; positions are sums over it. ``fill_key`` is the booking key (``client:<cp>:<ClOrdID>``
or ``exchange:<venue>:<trade id>``), unique so that a repeated booking cannot double a fill.
A hedge batch nets the intents it claims; its exchange orders carry deterministic client order
ids (the primary key of ``hedge_orders``), so an order is never placed twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desk.ledger.column_types import DecimalType, UtcDateTime

revision: str = "0002_hedging"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIDE_CHECK = "side IN ('BUY', 'SELL')"
BATCH_STATUS_CHECK = "status IN ('WORKING', 'DONE', 'FAILED')"
ORDER_STATUS_CHECK = (
    "status IN ('PENDING_NEW', 'NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', "
    "'EXPIRED', 'UNKNOWN')"
)


def _compare(column: str, op_sql: str, name: str) -> sa.CheckConstraint:
    # As in 0001: SQLite keeps decimals as TEXT, so compare the REAL cast (sign-exact).
    if op.get_context().dialect.name == "sqlite":
        return sa.CheckConstraint(f"CAST({column} AS REAL) {op_sql} 0", name=name)
    return sa.CheckConstraint(f"{column} {op_sql} 0", name=name)


def upgrade() -> None:
    """Create fills, hedge_batches and hedge_orders; link intents to their batch."""
    # A random tag for this ledger, made once: exchange client order ids start with it, so
    # they stay the same across restarts yet never collide with another desk's on a venue.
    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String, nullable=False),
        sa.Column("value", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_ledger_meta"),
    )
    op.bulk_insert(
        sa.table("ledger_meta", sa.column("key", sa.String), sa.column("value", sa.String)),
        [{"key": "instance_tag", "value": secrets.token_hex(3)}],
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("fill_key", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("venue", sa.String, nullable=True),
        sa.Column("counterparty", sa.String, nullable=True),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("base", sa.String, nullable=False),
        sa.Column("quote", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("qty", DecimalType(), nullable=False),
        sa.Column("price", DecimalType(), nullable=False),
        sa.Column("fee", DecimalType(), nullable=False),
        sa.Column("fee_currency", sa.String, nullable=False),
        sa.Column("executed_at", UtcDateTime(), nullable=False),
        sa.Column("booked_at", UtcDateTime(), nullable=False),
        sa.Column("trade_id", sa.Integer, nullable=True),
        sa.Column("client_order_id", sa.String, nullable=True),
        sa.Column("settl_date", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("fill_key", name="uq_fills_fill_key"),
        sa.ForeignKeyConstraint(["trade_id"], ["trades.trade_id"], name="fk_fills_trade_id_trades"),
        sa.CheckConstraint("source IN ('CLIENT', 'EXCHANGE')", name="ck_fills_source"),
        sa.CheckConstraint(SIDE_CHECK, name="ck_fills_side"),
        _compare("qty", ">", "ck_fills_qty_positive"),
        _compare("price", ">", "ck_fills_price_positive"),
        _compare("fee", ">=", "ck_fills_fee_not_negative"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_fills_base", "fills", ["base"])
    op.create_table(
        "hedge_batches",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("qty", DecimalType(), nullable=False),
        sa.Column("algo", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("arrival_mid", DecimalType(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("first_order_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("filled_qty", DecimalType(), nullable=False),
        sa.Column("avg_price", DecimalType(), nullable=True),
        sa.Column("fees_quote", DecimalType(), nullable=False),
        sa.Column("slippage_bps", DecimalType(), nullable=True),
        sa.Column("fee_bps", DecimalType(), nullable=True),
        sa.Column("error", sa.String, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hedge_batches"),
        sa.CheckConstraint(SIDE_CHECK, name="ck_hedge_batches_side"),
        sa.CheckConstraint(BATCH_STATUS_CHECK, name="ck_hedge_batches_status"),
        _compare("qty", ">=", "ck_hedge_batches_qty_not_negative"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_hedge_batches_status", "hedge_batches", ["status"])
    if op.get_context().dialect.name == "sqlite":
        # SQLite cannot add a constraint to a table, but a NULL-default column may carry an
        # inline REFERENCES (recreating the table would lose nothing but is needless here).
        op.execute(
            "ALTER TABLE hedge_intents ADD COLUMN batch_id INTEGER "
            "CONSTRAINT fk_hedge_intents_batch_id_hedge_batches REFERENCES hedge_batches (id)"
        )
    else:
        op.add_column("hedge_intents", sa.Column("batch_id", sa.Integer, nullable=True))
        op.create_foreign_key(
            "fk_hedge_intents_batch_id_hedge_batches",
            "hedge_intents",
            "hedge_batches",
            ["batch_id"],
            ["id"],
        )
    op.create_table(
        "hedge_orders",
        sa.Column("client_order_id", sa.String, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("clip_no", sa.Integer, nullable=False),
        sa.Column("venue", sa.String, nullable=False),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("qty", DecimalType(), nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("exchange_order_id", sa.String, nullable=True),
        sa.Column("filled_qty", DecimalType(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("error", sa.String, nullable=True),
        sa.PrimaryKeyConstraint("client_order_id", name="pk_hedge_orders"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["hedge_batches.id"], name="fk_hedge_orders_batch_id_hedge_batches"
        ),
        sa.CheckConstraint(SIDE_CHECK, name="ck_hedge_orders_side"),
        sa.CheckConstraint(ORDER_STATUS_CHECK, name="ck_hedge_orders_status"),
        _compare("qty", ">", "ck_hedge_orders_qty_positive"),
    )
    op.create_index("ix_hedge_orders_batch_id", "hedge_orders", ["batch_id"])


def downgrade() -> None:
    """Drop what this revision created."""
    op.drop_table("hedge_orders")
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint(
            "fk_hedge_intents_batch_id_hedge_batches", "hedge_intents", type_="foreignkey"
        )
    op.drop_column("hedge_intents", "batch_id")
    op.drop_table("hedge_batches")
    op.drop_table("fills")
    op.drop_table("ledger_meta")
