"""The database itself, on SQLite and PostgreSQL, keeps the journal balanced and the booked
rows unchangeable: raw SQL that tries otherwise is refused."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from desk.ledger.database import make_engine
from desk.ledger.fill_rows import fill_row
from desk.ledger.hedge_store import HedgeStore
from desk.ledger.models import fills, journal_entries, postings
from desk.ledger.repository import Ledger
from tests.ledger.factories import T0, booking
from tests.ledger.test_journal import exchange_event

D = Decimal
APPEND_ONLY = ("orders", "trades", "fills", "journal_entries", "postings", "settlement_obligations")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def book_raw(engine: Engine, trade_id: str, lines: list[tuple[str, str, str]]) -> None:
    """In one transaction: a bare exchange fill, ``lines`` as its postings, then its entry
    (postings first: the order the desk uses on both backends)."""
    event = exchange_event(trade_id)
    key = event.booking_key
    with engine.begin() as conn:
        fill_id = conn.execute(insert(fills).returning(fills.c.id), fill_row(event, T0)).scalar()
        if lines:
            conn.execute(
                insert(postings),
                [{"entry_key": key, "account": a, "asset": s, "amount": D(m)} for a, s, m in lines],
            )
        conn.execute(
            insert(journal_entries),
            {"entry_key": key, "fill_id": fill_id, "kind": "EXCHANGE_FILL", "booked_at": T0},
        )


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(text(table))).scalar_one())


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([("desk:inventory", "BTC", "1"), ("venue:x", "BTC", "-0.999999999999999999")],
                     id="off-by-1e-18"),
        pytest.param([("desk:inventory", "BTC", "1"), ("venue:x", "USD", "-1")], id="two-assets"),
        pytest.param([("desk:inventory", "BTC", "1")], id="one-line"),
        pytest.param([], id="no-postings"),
    ],
)  # fmt: skip
def test_unbalanced_entry_when_committed_then_refused(
    engine: Engine, lines: list[tuple[str, str, str]]
) -> None:
    with pytest.raises(IntegrityError, match="journal entry"):
        book_raw(engine, "U-1", lines)

    assert (
        count(engine, "journal_entries"),
        count(engine, "postings"),
        count(engine, "fills"),
    ) == (
        0,
        0,
        0,
    )


def test_balanced_entry_by_raw_sql_is_accepted(engine: Engine) -> None:
    # 0.1 + 0.2 - 0.3 is exactly zero, though not in floats.
    lines = [("a", "BTC", "0.1"), ("b", "BTC", "0.2"), ("c", "BTC", "-0.3")]
    book_raw(engine, "B-1", lines)

    assert count(engine, "postings") == 3


def test_postings_when_added_to_a_committed_entry_then_refused(engine: Engine) -> None:
    ledger = Ledger(engine)
    ledger.book_fill(booking(cl_ord_id="S-1"))

    # Balanced on their own, but the entry is sealed.
    extra = [
        {"entry_key": "client:ACME:S-1", "account": account, "asset": "BTC", "amount": D(amount)}
        for account, amount in (("desk:inventory", 5), ("counterparty:X", -5))
    ]
    with pytest.raises(IntegrityError, match="sealed"), engine.begin() as conn:
        conn.execute(insert(postings), extra)

    assert count(engine, "postings") == 4


def test_postings_without_an_entry_when_committed_then_refused(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(postings),
            [
                {"entry_key": "nowhere", "account": "a", "asset": "BTC", "amount": D(1)},
                {"entry_key": "nowhere", "account": "b", "asset": "BTC", "amount": D(-1)},
            ],
        )

    assert count(engine, "postings") == 0


def test_zero_posting_refused(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        book_raw(engine, "Z-1", [("a", "BTC", "0"), ("b", "BTC", "0")])


def test_sqlite_amount_when_not_canonical_text_then_refused(sqlite_url: str) -> None:
    # The exact balance check reads the canonical text; anything else must not get in.
    eng = make_engine(sqlite_url)
    try:
        for amount in ("1.50", "1e5", " 1", "1.", "--1", "1-", "0.0000000000000000001", "x"):
            with pytest.raises(IntegrityError, match="amount"), eng.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO postings (entry_key, account, asset, amount) "
                    "VALUES ('k', 'a', 'BTC', ?)",
                    (amount,),
                )
    finally:
        eng.dispose()


@pytest.fixture
def booked(engine: Engine) -> Engine:
    """A ledger holding one client trade and one exchange fill: every append-only table has rows."""
    Ledger(engine).book_fill(booking(cl_ord_id="A-1"))
    HedgeStore(engine).book_fill_event(exchange_event("A-2"), T0)
    return engine


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))]  # noqa: S608 - fixed names
            for t in APPEND_ONLY
        }


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
def test_change_to_append_only_table_refused(booked: Engine, table: str, statement: str) -> None:
    column = "trade_id" if table == "trades" else "id"
    before = snapshot(booked)

    with pytest.raises(IntegrityError, match="append-only"), booked.begin() as conn:
        conn.exec_driver_sql(statement.format(t=table, c=column))

    assert snapshot(booked) == before


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_truncate_refused_on_postgres(pg_url: str, table: str) -> None:
    eng = make_engine(pg_url)
    try:
        Ledger(eng).book_fill(booking())
        with pytest.raises(IntegrityError, match="append-only"), eng.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")
        assert count(eng, table) > 0
    finally:
        eng.dispose()
