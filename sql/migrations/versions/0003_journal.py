"""Journal: balanced double-entry postings per fill; append-only trade tables.

Revision ID: 0003_journal
Revises: 0002_hedging
Create Date: 2026-11-21

Every booked fill gets one ``journal_entries`` row (keyed by the fill's booking key) and its
``postings``; every client trade gets one ``settlement_obligations`` row per asset. The database
refuses a journal entry whose postings do not sum to zero per asset:

* PostgreSQL: deferred constraint triggers check, at commit, that each entry has postings, that
  they sum to zero per asset (exact NUMERIC sums), and that they were written in the entry's own
  transaction (same ``xmin``, so not from a different savepoint): a committed entry is sealed.
* SQLite has no deferred triggers, so postings are written first and the entry last (the foreign
  key from postings is DEFERRABLE INITIALLY DEFERRED); a BEFORE INSERT trigger on the entry sums
  its postings exactly (the canonical decimal text is split into four 9-digit integer limbs and
  the carries checked: never a float sum), and postings for an existing entry are refused. A
  CHECK keeps ``amount`` in the canonical text form that split relies on.

UPDATE and DELETE (and TRUNCATE on PostgreSQL) are refused on the journal tables and on the
trade tables ``orders``, ``trades`` and ``fills``: corrections are new entries.

The upgrade backfills what older databases hold: client trades without a canonical fill (booked
before ``0002_hedging``) get one, every fill gets its journal entry, every client trade its
settlement obligations. The posting rules are written out here, frozen, rather than imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, Inexact, Rounded, localcontext
from typing import Any

import sqlalchemy as sa
from alembic import op

from desk.ledger.column_types import DecimalType, UtcDateTime

revision: str = "0003_journal"
down_revision: str | Sequence[str] | None = "0002_hedging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = (
    "orders", "trades", "fills", "journal_entries", "postings", "settlement_obligations",
)  # fmt: skip
TRADE_TABLES = APPEND_ONLY_TABLES[:3]
POSTINGS_FK = "fk_postings_entry_key_journal_entries"

# --- PostgreSQL -------------------------------------------------------------------------------

PG_BALANCE_FUNCTION = """
CREATE FUNCTION journal_entry_must_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM postings WHERE entry_key = NEW.entry_key) THEN
        RAISE EXCEPTION 'journal entry % has no postings', NEW.entry_key
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT string_agg(asset || ' ' || total, ', ' ORDER BY asset) INTO unbalanced
    FROM (
        SELECT asset, sum(amount) AS total FROM postings
        WHERE entry_key = NEW.entry_key GROUP BY asset HAVING sum(amount) <> 0
    ) AS sums;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance: %', NEW.entry_key, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    -- A committed entry is sealed: its postings all come from the transaction that wrote it.
    IF EXISTS (
        SELECT 1 FROM postings AS p JOIN journal_entries AS e ON e.entry_key = p.entry_key
        WHERE p.entry_key = NEW.entry_key AND NOT (p.xmin = e.xmin)
    ) THEN
        RAISE EXCEPTION 'journal entry % is sealed: postings cannot be added later',
            NEW.entry_key USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$
"""

PG_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION refuse_change_to_booked_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: the table is append-only (corrections are new entries)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$
"""


def _pg_balance_triggers() -> None:
    op.execute(PG_BALANCE_FUNCTION)
    for table in ("journal_entries", "postings"):
        op.execute(
            f"CREATE CONSTRAINT TRIGGER trg_{table}_balanced AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION journal_entry_must_balance()"
        )


def _pg_append_only_triggers() -> None:
    op.execute(PG_APPEND_ONLY_FUNCTION)
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_booked_rows()"
        )


# --- SQLite -----------------------------------------------------------------------------------

# Canonical decimal text, as DecimalType writes it: optional '-', at most 20 integer digits,
# optionally '.' and at most 18 digits without a trailing zero; never zero.
SQLITE_CANONICAL_AMOUNT = """
typeof(amount) = 'text'
AND amount NOT GLOB '*[^0-9.-]*'
AND (amount GLOB '[0-9]*' OR amount GLOB '-[0-9]*')
AND amount NOT GLOB '?*-*'
AND amount NOT GLOB '*.*.*'
AND amount NOT GLOB '*.'
AND amount NOT GLOB '*.*0'
AND CASE WHEN instr(amount, '.') > 0 THEN length(amount) - instr(amount, '.') ELSE 0 END <= 18
AND length(ltrim(amount, '-'))
    - CASE WHEN instr(amount, '.') > 0 THEN length(amount) - instr(amount, '.') + 1 ELSE 0 END
    <= 20
AND CAST(amount AS REAL) <> 0
"""

# The balance check: each posting as four base-10^9 limbs (integer part high and low, fraction
# high and low) summed per asset with INTEGER arithmetic; the entry balances iff every limb sum
# carries to zero.
SQLITE_BALANCE_TRIGGER = """
CREATE TRIGGER trg_journal_entries_balanced BEFORE INSERT ON journal_entries
BEGIN
    SELECT RAISE(ABORT, 'journal entry has no postings')
    WHERE NOT EXISTS (SELECT 1 FROM postings WHERE entry_key = NEW.entry_key);
    SELECT RAISE(ABORT, 'journal entry does not balance per asset')
    WHERE EXISTS (
        SELECT 1 FROM (
            SELECT
                sum(sgn * CAST(substr(i20, 1, 11) AS INTEGER)) AS i_hi,
                sum(sgn * CAST(substr(i20, 12, 9) AS INTEGER)) AS i_lo,
                sum(sgn * CAST(substr(f18, 1, 9) AS INTEGER)) AS f_hi,
                sum(sgn * CAST(substr(f18, 10, 9) AS INTEGER)) AS f_lo
            FROM (
                SELECT
                    asset,
                    CASE WHEN substr(amount, 1, 1) = '-' THEN -1 ELSE 1 END AS sgn,
                    substr('00000000000000000000' || CASE WHEN instr(amount, '.') > 0
                        THEN substr(ltrim(amount, '-'), 1, instr(ltrim(amount, '-'), '.') - 1)
                        ELSE ltrim(amount, '-') END, -20) AS i20,
                    substr(CASE WHEN instr(amount, '.') > 0
                        THEN substr(amount, instr(amount, '.') + 1) ELSE '' END
                        || '000000000000000000', 1, 18) AS f18
                FROM postings WHERE entry_key = NEW.entry_key
            )
            GROUP BY asset
        )
        WHERE f_lo % 1000000000 <> 0
           OR (f_hi + f_lo / 1000000000) % 1000000000 <> 0
           OR (i_lo + (f_hi + f_lo / 1000000000) / 1000000000) % 1000000000 <> 0
           OR i_hi + (i_lo + (f_hi + f_lo / 1000000000) / 1000000000) / 1000000000 <> 0
    );
END
"""

SQLITE_SEALED_TRIGGER = """
CREATE TRIGGER trg_postings_sealed BEFORE INSERT ON postings
WHEN EXISTS (SELECT 1 FROM journal_entries WHERE entry_key = NEW.entry_key)
BEGIN
    SELECT RAISE(ABORT, 'journal entry is sealed: postings are written before their entry');
END
"""


def _sqlite_append_only_triggers() -> None:
    for table in APPEND_ONLY_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trg_{table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{action} on {table} refused: the table is "
                "append-only (corrections are new entries)'); END"
            )


# --- tables -----------------------------------------------------------------------------------


def _amount_check(table: str) -> sa.CheckConstraint:
    if op.get_context().dialect.name == "sqlite":
        return sa.CheckConstraint(SQLITE_CANONICAL_AMOUNT, name=f"ck_{table}_amount_not_zero")
    return sa.CheckConstraint("amount <> 0", name=f"ck_{table}_amount_not_zero")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, sa.Identity(), primary_key=True)


def _create_tables() -> None:
    op.create_table(
        "journal_entries",
        _id(),
        sa.Column("entry_key", sa.String, nullable=False),
        sa.Column("fill_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("booked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal_entries"),
        sa.UniqueConstraint("entry_key", name="uq_journal_entries_entry_key"),
        sa.UniqueConstraint("fill_id", name="uq_journal_entries_fill_id"),
        sa.ForeignKeyConstraint(["fill_id"], ["fills.id"], name="fk_journal_entries_fill_id_fills"),
        sa.CheckConstraint(
            "kind IN ('CLIENT_TRADE', 'EXCHANGE_FILL')", name="ck_journal_entries_kind"
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "postings",
        _id(),
        sa.Column("entry_key", sa.String, nullable=False),
        sa.Column("account", sa.String, nullable=False),
        sa.Column("asset", sa.String, nullable=False),
        sa.Column("amount", DecimalType(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_postings"),
        # Deferred: on SQLite an entry's postings are written before the entry itself.
        sa.ForeignKeyConstraint(
            ["entry_key"],
            ["journal_entries.entry_key"],
            name=POSTINGS_FK,
            deferrable=True,
            initially="DEFERRED",
        ),
        _amount_check("postings"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_postings_entry_key", "postings", ["entry_key"])
    op.create_index("ix_postings_account_asset", "postings", ["account", "asset"])
    op.create_table(
        "settlement_obligations",
        _id(),
        sa.Column("trade_id", sa.Integer, nullable=False),
        sa.Column("counterparty", sa.String, nullable=False),
        sa.Column("asset", sa.String, nullable=False),
        sa.Column("amount", DecimalType(), nullable=False),
        sa.Column("settl_date", sa.Date, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_settlement_obligations"),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["trades.trade_id"], name="fk_settlement_obligations_trade_id_trades"
        ),
        sa.UniqueConstraint("trade_id", "asset", name="uq_settlement_obligations_trade_id_asset"),
        _amount_check("settlement_obligations"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_settlement_obligations_counterparty_settl_date",
        "settlement_obligations",
        ["counterparty", "settl_date"],
    )


# --- backfill (the posting rules as of this revision, frozen) --------------------------------

_trades = sa.table(
    "trades",
    sa.column("trade_id", sa.Integer),
    sa.column("counterparty", sa.String),
    sa.column("cl_ord_id", sa.String),
    sa.column("symbol", sa.String),
    sa.column("side", sa.String),
    sa.column("qty", DecimalType()),
    sa.column("price", DecimalType()),
    sa.column("executed_at", UtcDateTime()),
    sa.column("settl_date", sa.Date),
)
_fills = sa.table(
    "fills",
    sa.column("id", sa.Integer),
    sa.column("fill_key", sa.String),
    sa.column("source", sa.String),
    sa.column("venue", sa.String),
    sa.column("counterparty", sa.String),
    sa.column("symbol", sa.String),
    sa.column("base", sa.String),
    sa.column("quote", sa.String),
    sa.column("side", sa.String),
    sa.column("qty", DecimalType()),
    sa.column("price", DecimalType()),
    sa.column("fee", DecimalType()),
    sa.column("fee_currency", sa.String),
    sa.column("executed_at", UtcDateTime()),
    sa.column("booked_at", UtcDateTime()),
    sa.column("trade_id", sa.Integer),
    sa.column("settl_date", sa.Date),
)
_journal_entries = sa.table(
    "journal_entries",
    sa.column("entry_key", sa.String),
    sa.column("fill_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("booked_at", UtcDateTime()),
)
_postings = sa.table(
    "postings",
    sa.column("entry_key", sa.String),
    sa.column("account", sa.String),
    sa.column("asset", sa.String),
    sa.column("amount", DecimalType()),
)
_obligations = sa.table(
    "settlement_obligations",
    sa.column("trade_id", sa.Integer),
    sa.column("counterparty", sa.String),
    sa.column("asset", sa.String),
    sa.column("amount", DecimalType()),
    sa.column("settl_date", sa.Date),
    sa.column("created_at", UtcDateTime()),
)


def _backfill_client_fills(conn: sa.Connection) -> None:
    """The canonical fill (desk side, no fee) of every trade booked before fills existed."""
    booked = sa.select(_fills.c.trade_id).where(_fills.c.trade_id.is_not(None))
    rows = conn.execute(
        sa.select(_trades).where(_trades.c.trade_id.not_in(booked)).order_by(_trades.c.trade_id)
    ).all()
    for t in rows:
        base, _, quote = t.symbol.partition("/")
        conn.execute(
            sa.insert(_fills),
            {
                "fill_key": f"client:{t.counterparty}:{t.cl_ord_id}",
                "source": "CLIENT",
                "venue": None,
                "counterparty": t.counterparty,
                "symbol": t.symbol,
                "base": base,
                "quote": quote,
                "side": "SELL" if t.side == "BUY" else "BUY",
                "qty": t.qty,
                "price": t.price,
                "fee": Decimal(0),
                "fee_currency": quote,
                "executed_at": t.executed_at,
                "booked_at": t.executed_at,
                "trade_id": t.trade_id,
                "settl_date": t.settl_date,
            },
        )


def _exact_product(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as exact:
        exact.prec = 80
        exact.traps[Inexact] = exact.traps[Rounded] = True
        return a * b


def _postings_of(fill: Any) -> list[tuple[str, str, Decimal]]:
    """(account, asset, amount) of one fill, as journal.py posts it at this revision."""
    client = fill.source == "CLIENT"
    other = f"counterparty:{fill.counterparty}" if client else f"venue:{fill.venue}"
    # copy_negate: unary minus would round to 28 digits.
    signed_qty = fill.qty if fill.side == "BUY" else fill.qty.copy_negate()
    consideration = _exact_product(signed_qty, fill.price)
    lines = [
        ("desk:inventory", fill.base, signed_qty),
        (other, fill.base, signed_qty.copy_negate()),
        ("desk:inventory", fill.quote, consideration.copy_negate()),
        (other, fill.quote, consideration),
    ]
    if fill.fee != 0:
        party = fill.counterparty if client else fill.venue
        lines += [
            ("desk:inventory", fill.fee_currency, fill.fee.copy_negate()),
            (f"fees:{party}", fill.fee_currency, fill.fee),
        ]
    return lines


def _backfill_journal(conn: sa.Connection) -> None:
    for fill in conn.execute(sa.select(_fills).order_by(_fills.c.id)).all():
        lines = _postings_of(fill)
        # Postings first, entry last: the order SQLite's balance trigger needs.
        conn.execute(
            sa.insert(_postings),
            [
                {"entry_key": fill.fill_key, "account": account, "asset": asset, "amount": amount}
                for account, asset, amount in lines
            ],
        )
        conn.execute(
            sa.insert(_journal_entries),
            {
                "entry_key": fill.fill_key,
                "fill_id": fill.id,
                "kind": "CLIENT_TRADE" if fill.source == "CLIENT" else "EXCHANGE_FILL",
                "booked_at": fill.booked_at,
            },
        )
        if fill.source == "CLIENT" and fill.trade_id is not None:
            _backfill_obligations(conn, fill, lines)


def _backfill_obligations(
    conn: sa.Connection, fill: Any, lines: list[tuple[str, str, Decimal]]
) -> None:
    account = f"counterparty:{fill.counterparty}"
    settl_date: date = fill.settl_date
    created_at: datetime = fill.booked_at
    conn.execute(
        sa.insert(_obligations),
        [
            {
                "trade_id": fill.trade_id,
                "counterparty": fill.counterparty,
                "asset": asset,
                "amount": amount,
                "settl_date": settl_date,
                "created_at": created_at,
            }
            for acct, asset, amount in lines
            if acct == account
        ],
    )


def upgrade() -> None:
    """Create the journal tables and their triggers, then journal what is already booked."""
    postgres = op.get_context().dialect.name == "postgresql"
    _create_tables()
    if postgres:
        _pg_balance_triggers()
    else:
        op.execute(SQLITE_BALANCE_TRIGGER)
        op.execute(SQLITE_SEALED_TRIGGER)
    conn = op.get_bind()
    _backfill_client_fills(conn)
    _backfill_journal(conn)
    if postgres:
        # Fire the deferred checks now, then defer them again: later revisions in this
        # transaction may alter tables, which PostgreSQL refuses while trigger events pend.
        deferred = "trg_journal_entries_balanced, trg_postings_balanced, " + POSTINGS_FK
        op.execute(f"SET CONSTRAINTS {deferred} IMMEDIATE")
        op.execute(f"SET CONSTRAINTS {deferred} DEFERRED")
        _pg_append_only_triggers()
    else:
        _sqlite_append_only_triggers()


def downgrade() -> None:
    """Drop what this revision created (backfilled fills stay: they are real fills)."""
    if op.get_context().dialect.name == "postgresql":
        for table in TRADE_TABLES:
            op.execute(f"DROP TRIGGER trg_{table}_append_only ON {table}")
    else:
        for table in TRADE_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER trg_{table}_no_{action}")
    op.drop_table("settlement_obligations")
    op.drop_table("postings")
    op.drop_table("journal_entries")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION refuse_change_to_booked_rows()")
        op.execute("DROP FUNCTION journal_entry_must_balance()")
