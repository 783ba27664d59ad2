"""SQLAlchemy 2 models of the ledger tables (the schema itself is owned by ``sql/migrations``).

These classes describe what the migrations create so the repository can build typed Core
statements; ``tests/ledger`` checks that the two never drift apart. Nothing here leaves the
ledger package: callers get the plain records of ``desk.ledger.records``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    FetchedValue,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from desk.ledger.column_types import Date, DecimalType, UtcDateTime

# Deterministic constraint names, identical to the ones the migrations spell out by hand.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SIDE_CHECK = "side IN ('BUY', 'SELL')"
ORDER_STATUS_CHECK = "status IN ('FILLED', 'REJECTED')"
HEDGE_STATUS_CHECK = "status IN ('PENDING', 'WORKING', 'DONE', 'FAILED')"


def positive_check(column: str, name: str) -> list[CheckConstraint]:
    """``column > 0`` as a CHECK on both backends.

    PostgreSQL compares NUMERIC exactly. On SQLite the column is TEXT, where ``'10' > 0`` is a
    text-vs-integer comparison that is always true; casting to REAL is lossy but keeps the sign
    and non-zero-ness of every value DecimalType accepts (the smallest, 1e-18, is a normal
    double), and anything that is not a number casts to 0 and fails.
    """
    return [
        CheckConstraint(f"{column} > 0", name=name).ddl_if(dialect="postgresql"),
        CheckConstraint(f"CAST({column} AS REAL) > 0", name=name).ddl_if(dialect="sqlite"),
    ]


class Base(DeclarativeBase):
    """Declarative base holding the ledger's tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DeskBoot(Base):
    """One desk start; its id is the boot epoch that keeps generated FIX ids unique."""

    __tablename__ = "desk_boots"
    # AUTOINCREMENT (SQLite) / an identity sequence (PostgreSQL): ids are never handed out twice,
    # even after the highest row is deleted, so an epoch can never repeat.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    hostname: Mapped[str] = mapped_column(String)
    pid: Mapped[int] = mapped_column(Integer)


class Order(Base):
    """Every order the desk answered, filled or rejected; its ClOrdID is used for ever."""

    __tablename__ = "orders"
    __table_args__ = (
        # The idempotency key: a resent NewOrderSingle must never book a second trade.
        UniqueConstraint("counterparty", "cl_ord_id"),
        CheckConstraint(ORDER_STATUS_CHECK, name="status"),
        CheckConstraint(SIDE_CHECK, name="side"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    counterparty: Mapped[str] = mapped_column(String)
    account: Mapped[str | None] = mapped_column(String)
    cl_ord_id: Mapped[str] = mapped_column(String)
    order_id: Mapped[str] = mapped_column(String, unique=True)
    exec_id: Mapped[str] = mapped_column(String, unique=True)
    quote_id: Mapped[str | None] = mapped_column(String)
    quote_req_id: Mapped[str | None] = mapped_column(String)
    symbol: Mapped[str] = mapped_column(String)
    side: Mapped[str | None] = mapped_column(String)
    qty: Mapped[Decimal | None] = mapped_column(DecimalType())
    price: Mapped[Decimal | None] = mapped_column(DecimalType())
    status: Mapped[str] = mapped_column(String)
    reject_code: Mapped[str | None] = mapped_column(String)
    reject_text: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    client_transact_time: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Trade(Base):
    """One client trade (the desk is the other side)."""

    __tablename__ = "trades"
    __table_args__ = (
        CheckConstraint(SIDE_CHECK, name="side"),
        *positive_check("qty", "qty_positive"),
        *positive_check("price", "price_positive"),
        Index(None, "counterparty", "executed_at"),  # credit: notional per counterparty since t
        Index(None, "executed_at"),  # compliance: trades in a date range
        {"sqlite_autoincrement": True},
    )

    trade_id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    order_id: Mapped[str] = mapped_column(String, ForeignKey("orders.order_id"), unique=True)
    counterparty: Mapped[str] = mapped_column(String)
    account: Mapped[str | None] = mapped_column(String)
    symbol: Mapped[str] = mapped_column(String)
    side: Mapped[str] = mapped_column(String)
    qty: Mapped[Decimal] = mapped_column(DecimalType())
    price: Mapped[Decimal] = mapped_column(DecimalType())
    notional: Mapped[Decimal] = mapped_column(DecimalType())
    currency: Mapped[str] = mapped_column(String)
    quote_id: Mapped[str] = mapped_column(String)
    quote_req_id: Mapped[str] = mapped_column(String)
    cl_ord_id: Mapped[str] = mapped_column(String)
    exec_id: Mapped[str] = mapped_column(String, unique=True)
    executed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    settl_date: Mapped[date] = mapped_column(Date)


class HedgeIntent(Base):
    """The outbox: one hedge to do on an exchange per client trade, claimed by status."""

    __tablename__ = "hedge_intents"
    __table_args__ = (
        CheckConstraint(SIDE_CHECK, name="side"),
        CheckConstraint(HEDGE_STATUS_CHECK, name="status"),
        *positive_check("qty", "qty_positive"),
        Index(None, "status", "id"),  # hedgers claim the oldest PENDING rows first
        Index(None, "batch_id"),  # a batch closes its intents
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    trade_id: Mapped[int] = mapped_column(Integer, ForeignKey("trades.trade_id"), unique=True)
    symbol: Mapped[str] = mapped_column(String)
    side: Mapped[str] = mapped_column(String)
    qty: Mapped[Decimal] = mapped_column(DecimalType())
    status: Mapped[str] = mapped_column(String, server_default="PENDING")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    batch_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("hedge_batches.id"))


def compare_check(column: str, op_sql: str, name: str) -> list[CheckConstraint]:
    """``column <op> 0`` on both backends (see positive_check for the SQLite cast)."""
    return [
        CheckConstraint(f"{column} {op_sql} 0", name=name).ddl_if(dialect="postgresql"),
        CheckConstraint(f"CAST({column} AS REAL) {op_sql} 0", name=name).ddl_if(dialect="sqlite"),
    ]


class LedgerMeta(Base):
    """Facts about this ledger made once by the migrations (e.g. its random instance tag)."""

    __tablename__ = "ledger_meta"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String)


class Fill(Base):
    """Every fill the desk books, client and exchange alike, from the desk's side."""

    __tablename__ = "fills"
    __table_args__ = (
        CheckConstraint("source IN ('CLIENT', 'EXCHANGE')", name="source"),
        CheckConstraint(SIDE_CHECK, name="side"),
        *compare_check("qty", ">", "qty_positive"),
        *compare_check("price", ">", "price_positive"),
        *compare_check("fee", ">=", "fee_not_negative"),
        Index(None, "base"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    fill_key: Mapped[str] = mapped_column(String, unique=True)
    source: Mapped[str] = mapped_column(String)
    venue: Mapped[str | None] = mapped_column(String)
    counterparty: Mapped[str | None] = mapped_column(String)
    symbol: Mapped[str] = mapped_column(String)
    base: Mapped[str] = mapped_column(String)
    quote: Mapped[str] = mapped_column(String)
    side: Mapped[str] = mapped_column(String)
    qty: Mapped[Decimal] = mapped_column(DecimalType())
    price: Mapped[Decimal] = mapped_column(DecimalType())
    fee: Mapped[Decimal] = mapped_column(DecimalType())
    fee_currency: Mapped[str] = mapped_column(String)
    executed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    trade_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("trades.trade_id"))
    client_order_id: Mapped[str | None] = mapped_column(String)
    settl_date: Mapped[date | None] = mapped_column(Date)


class HedgeBatch(Base):
    """Intents netted into one hedge of one symbol, and how well it was done."""

    __tablename__ = "hedge_batches"
    __table_args__ = (
        CheckConstraint(SIDE_CHECK, name="side"),
        CheckConstraint("status IN ('WORKING', 'DONE', 'FAILED')", name="status"),
        *compare_check("qty", ">=", "qty_not_negative"),
        Index(None, "status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    symbol: Mapped[str] = mapped_column(String)
    side: Mapped[str] = mapped_column(String)
    qty: Mapped[Decimal] = mapped_column(DecimalType())
    algo: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    arrival_mid: Mapped[Decimal | None] = mapped_column(DecimalType())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    first_order_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    filled_qty: Mapped[Decimal] = mapped_column(DecimalType())
    avg_price: Mapped[Decimal | None] = mapped_column(DecimalType())
    fees_quote: Mapped[Decimal] = mapped_column(DecimalType())
    slippage_bps: Mapped[Decimal | None] = mapped_column(DecimalType())
    fee_bps: Mapped[Decimal | None] = mapped_column(DecimalType())
    error: Mapped[str | None] = mapped_column(String)


class HedgeOrder(Base):
    """One exchange order of a batch; its deterministic client order id is the key."""

    __tablename__ = "hedge_orders"
    __table_args__ = (
        CheckConstraint(SIDE_CHECK, name="side"),
        CheckConstraint(
            "status IN ('PENDING_NEW', 'NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', "
            "'REJECTED', 'EXPIRED', 'UNKNOWN')",
            name="status",
        ),
        *compare_check("qty", ">", "qty_positive"),
        Index(None, "batch_id"),
    )

    client_order_id: Mapped[str] = mapped_column(String, primary_key=True)
    batch_id: Mapped[int] = mapped_column(Integer, ForeignKey("hedge_batches.id"))
    clip_no: Mapped[int] = mapped_column(Integer)
    venue: Mapped[str] = mapped_column(String)
    symbol: Mapped[str] = mapped_column(String)
    side: Mapped[str] = mapped_column(String)
    qty: Mapped[Decimal] = mapped_column(DecimalType())
    status: Mapped[str] = mapped_column(String)
    exchange_order_id: Mapped[str | None] = mapped_column(String)
    filled_qty: Mapped[Decimal] = mapped_column(DecimalType())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(String)


# --- journal (revision 0003_journal) -------------------------------------------------------


JOURNAL_KIND_CHECK = "kind IN ('CLIENT_TRADE', 'EXCHANGE_FILL')"


class JournalEntry(Base):
    """One booked fill in the journal; its postings sum to zero per asset (the database checks).

    On SQLite the migration also keeps ``amount`` in canonical text form and makes the balance
    check at the entry's insert, so postings are written before their entry.
    """

    __tablename__ = "journal_entries"
    __table_args__ = (
        CheckConstraint(JOURNAL_KIND_CHECK, name="kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    entry_key: Mapped[str] = mapped_column(String, unique=True)
    fill_id: Mapped[int] = mapped_column(Integer, ForeignKey("fills.id"), unique=True)
    kind: Mapped[str] = mapped_column(String)
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Posting(Base):
    """One line of a journal entry: ``amount`` of ``asset`` flows into ``account`` (signed)."""

    __tablename__ = "postings"
    __table_args__ = (
        *compare_check("amount", "<>", "amount_not_zero"),
        Index(None, "entry_key"),
        Index(None, "account", "asset"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    entry_key: Mapped[str] = mapped_column(
        String,
        ForeignKey("journal_entries.entry_key", deferrable=True, initially="DEFERRED"),
    )
    account: Mapped[str] = mapped_column(String)
    asset: Mapped[str] = mapped_column(String)
    amount: Mapped[Decimal] = mapped_column(DecimalType())


class SettlementObligation(Base):
    """What a counterparty receives (+) or delivers (-) of one asset for one client trade."""

    __tablename__ = "settlement_obligations"
    __table_args__ = (
        UniqueConstraint("trade_id", "asset"),
        *compare_check("amount", "<>", "amount_not_zero"),
        Index(None, "counterparty", "settl_date"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    trade_id: Mapped[int] = mapped_column(Integer, ForeignKey("trades.trade_id"))
    counterparty: Mapped[str] = mapped_column(String)
    asset: Mapped[str] = mapped_column(String)
    amount: Mapped[Decimal] = mapped_column(DecimalType())
    settl_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


journal_entries: Table = Base.metadata.tables["journal_entries"]
postings: Table = Base.metadata.tables["postings"]
settlement_obligations: Table = Base.metadata.tables["settlement_obligations"]


# --- audit trail (revision 0004_audit) -----------------------------------------------------

AUDIT_KIND_CHECK = "kind IN ('fix.in', 'fix.out', 'ledger', 'ops')"


class AuditLog(Base):
    """The append-only audit trail; the database sets seq, prev_hash and hash on insert."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(AUDIT_KIND_CHECK, name="kind"),
        Index(None, "recorded_at"),
        Index(None, "quote_req_id"),
        Index(None, "quote_id"),
        Index(None, "cl_ord_id"),
    )

    # Assigned by the chain trigger (migration 0004_audit), never by a writer: FetchedValue
    # tells SQLAlchemy the database fills it in.
    seq: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, server_default=FetchedValue()
    )
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String)
    msg_type: Mapped[str] = mapped_column(String)
    counterparty: Mapped[str | None] = mapped_column(String)
    quote_req_id: Mapped[str | None] = mapped_column(String)
    quote_id: Mapped[str | None] = mapped_column(String)
    cl_ord_id: Mapped[str | None] = mapped_column(String)
    order_id: Mapped[str | None] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(String)
    body: Mapped[str] = mapped_column(String)
    prev_hash: Mapped[str | None] = mapped_column(String)
    hash: Mapped[str | None] = mapped_column(String)


audit_log: Table = Base.metadata.tables["audit_log"]


# --- positions (revision 0006_positions) ---------------------------------------------------


class Position(Base):
    """The desk's net base quantity per symbol over every booked fill (buys positive).

    Kept by a trigger on ``fills`` (migration 0006_positions), never written by the desk.
    """

    __tablename__ = "positions"

    symbol: Mapped[str] = mapped_column(String, primary_key=True)
    qty: Mapped[Decimal] = mapped_column(DecimalType())


positions: Table = Base.metadata.tables["positions"]


# The Core tables, for statements on the latency path without ORM session overhead.
desk_boots: Table = Base.metadata.tables["desk_boots"]
orders: Table = Base.metadata.tables["orders"]
trades: Table = Base.metadata.tables["trades"]
hedge_intents: Table = Base.metadata.tables["hedge_intents"]
fills: Table = Base.metadata.tables["fills"]
ledger_meta: Table = Base.metadata.tables["ledger_meta"]
hedge_batches: Table = Base.metadata.tables["hedge_batches"]
hedge_orders: Table = Base.metadata.tables["hedge_orders"]

# The compliance view, described on its own MetaData so that create_all never makes it a table.
view_metadata = MetaData()
trade_log_view = Table(
    "trade_log",
    view_metadata,
    Column("trade_id", Integer, primary_key=True),
    Column("executed_at", UtcDateTime()),
    Column("counterparty", String),
    Column("symbol", String),
    Column("side", String),
    Column("qty", DecimalType()),
    Column("price", DecimalType()),
    Column("notional", DecimalType()),
    Column("quote_id", String),
    Column("cl_ord_id", String),
    Column("exec_id", String),
)
TRADE_LOG_COLUMNS = tuple(c.name for c in trade_log_view.columns)
