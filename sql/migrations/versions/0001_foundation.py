"""Foundation: desk boots, orders, trades, the hedge-intent outbox and the trade_log view.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-01-05

Written out by hand rather than from ``Base.metadata``: a migration is a frozen snapshot and
must not change when desk.ledger.models does. Column types come from desk.ledger.column_types
(NUMERIC(38,18) / TIMESTAMPTZ on PostgreSQL, exact text on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desk.ledger.column_types import DecimalType, UtcDateTime

revision: str = "0001_foundation"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIDE_CHECK = "side IN ('BUY', 'SELL')"

TRADE_LOG_VIEW = """
CREATE VIEW trade_log AS
SELECT trade_id, executed_at, counterparty, symbol, side, qty, price, notional,
       quote_id, cl_ord_id, exec_id
FROM trades
"""


def _positive(column: str, name: str) -> sa.CheckConstraint:
    # On SQLite the decimal is TEXT and `'5' > 0` compares text with integer (always true), so
    # cast: REAL loses digits but never the sign or non-zero-ness of a value DecimalType accepts.
    if op.get_context().dialect.name == "sqlite":
        return sa.CheckConstraint(f"CAST({column} AS REAL) > 0", name=name)
    return sa.CheckConstraint(f"{column} > 0", name=name)


def _id(name: str = "id") -> sa.Column[int]:
    # Identity on PostgreSQL; on SQLite the table's AUTOINCREMENT keeps ids from being reused.
    return sa.Column(name, sa.Integer, sa.Identity(), primary_key=True)


def upgrade() -> None:
    """Create the foundation tables and the compliance view."""
    op.create_table(
        "desk_boots",
        _id(),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("hostname", sa.String, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_desk_boots"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "orders",
        _id(),
        sa.Column("counterparty", sa.String, nullable=False),
        sa.Column("account", sa.String, nullable=True),
        sa.Column("cl_ord_id", sa.String, nullable=False),
        sa.Column("order_id", sa.String, nullable=False),
        sa.Column("exec_id", sa.String, nullable=False),
        sa.Column("quote_id", sa.String, nullable=True),
        sa.Column("quote_req_id", sa.String, nullable=True),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=True),
        sa.Column("qty", DecimalType(), nullable=True),
        sa.Column("price", DecimalType(), nullable=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("reject_code", sa.String, nullable=True),
        sa.Column("reject_text", sa.String, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("client_transact_time", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        # The idempotency key: a resent NewOrderSingle must never book a second trade.
        sa.UniqueConstraint("counterparty", "cl_ord_id", name="uq_orders_counterparty_cl_ord_id"),
        sa.UniqueConstraint("order_id", name="uq_orders_order_id"),
        sa.UniqueConstraint("exec_id", name="uq_orders_exec_id"),
        sa.CheckConstraint("status IN ('FILLED', 'REJECTED')", name="ck_orders_status"),
        sa.CheckConstraint(SIDE_CHECK, name="ck_orders_side"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "trades",
        _id("trade_id"),
        sa.Column("order_id", sa.String, nullable=False),
        sa.Column("counterparty", sa.String, nullable=False),
        sa.Column("account", sa.String, nullable=True),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("qty", DecimalType(), nullable=False),
        sa.Column("price", DecimalType(), nullable=False),
        sa.Column("notional", DecimalType(), nullable=False),
        sa.Column("currency", sa.String, nullable=False),
        sa.Column("quote_id", sa.String, nullable=False),
        sa.Column("quote_req_id", sa.String, nullable=False),
        sa.Column("cl_ord_id", sa.String, nullable=False),
        sa.Column("exec_id", sa.String, nullable=False),
        sa.Column("executed_at", UtcDateTime(), nullable=False),
        sa.Column("settl_date", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("trade_id", name="pk_trades"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name="fk_trades_order_id_orders"
        ),
        sa.UniqueConstraint("order_id", name="uq_trades_order_id"),
        sa.UniqueConstraint("exec_id", name="uq_trades_exec_id"),
        sa.CheckConstraint(SIDE_CHECK, name="ck_trades_side"),
        _positive("qty", "ck_trades_qty_positive"),
        _positive("price", "ck_trades_price_positive"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_trades_counterparty_executed_at", "trades", ["counterparty", "executed_at"])
    op.create_index("ix_trades_executed_at", "trades", ["executed_at"])
    op.create_table(
        "hedge_intents",
        _id(),
        sa.Column("trade_id", sa.Integer, nullable=False),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("qty", DecimalType(), nullable=False),
        sa.Column("status", sa.String, nullable=False, server_default="PENDING"),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hedge_intents"),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["trades.trade_id"], name="fk_hedge_intents_trade_id_trades"
        ),
        sa.UniqueConstraint("trade_id", name="uq_hedge_intents_trade_id"),
        sa.CheckConstraint(SIDE_CHECK, name="ck_hedge_intents_side"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'WORKING', 'DONE', 'FAILED')", name="ck_hedge_intents_status"
        ),
        _positive("qty", "ck_hedge_intents_qty_positive"),
        sqlite_autoincrement=True,
    )
    # Hedgers claim the oldest PENDING intents: WHERE status = 'PENDING' ORDER BY id.
    op.create_index("ix_hedge_intents_status_id", "hedge_intents", ["status", "id"])
    op.execute(TRADE_LOG_VIEW)


def downgrade() -> None:
    """Drop everything this revision created."""
    op.execute("DROP VIEW trade_log")
    op.drop_table("hedge_intents")
    op.drop_table("trades")
    op.drop_table("orders")
    op.drop_table("desk_boots")
