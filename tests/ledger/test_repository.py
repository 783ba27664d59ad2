"""Ledger repository on real SQLite and real PostgreSQL (every test runs on both)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from desk.domain.side import Side
from desk.ledger.models import desk_boots, fills, hedge_intents
from desk.ledger.records import (
    DuplicateClOrdID,
    HedgeIntentStatus,
    OrderRecord,
    OrderStatus,
    TradeLogRow,
)
from desk.ledger.repository import Ledger, hedge_side
from tests.ledger.factories import T0, booking, rejection, row_counts


def test_book_fill_writes_order_trade_and_intent_exactly(ledger: Ledger) -> None:
    fill = booking(
        cl_ord_id="C-1",
        order_id="7-O1",
        exec_id="7-E1",
        quote_id="7-Q1",
        qty=Decimal("0.00012345"),
        price=Decimal("61234.56"),
        notional=Decimal("7.559406432123456789"),
    )
    record = ledger.book_fill(fill)

    assert record.trade_id is not None
    assert record.status is OrderStatus.FILLED
    assert ledger.find_order("ACME", "C-1") == record
    assert row_counts(ledger.engine) == {"orders": 1, "trades": 1, "hedge_intents": 1, "fills": 1}
    [row] = ledger.trade_log()
    assert row == TradeLogRow(
        trade_id=record.trade_id,
        executed_at=datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC),
        counterparty="ACME",
        symbol="BTC/USD",
        side=Side.BUY,
        qty=Decimal("0.00012345"),
        price=Decimal("61234.56"),
        notional=Decimal("7.559406432123456789"),
        quote_id="7-Q1",
        cl_ord_id="C-1",
        exec_id="7-E1",
    )
    # Not just equal: the very digits, whatever the backend.
    assert (str(row.qty), str(row.price), str(row.notional)) == (
        "0.00012345",
        "61234.56",
        "7.559406432123456789",
    )
    assert row.executed_at.tzinfo is UTC


def test_find_order_returns_trade_fields(ledger: Ledger) -> None:
    record = ledger.book_fill(
        booking(cl_ord_id="C-2", currency="USDT", settl_date=date(2026, 1, 7))
    )
    found = ledger.find_order("ACME", "C-2")
    assert found is not None
    assert (found.trade_id, found.currency, found.settl_date) == (
        record.trade_id,
        "USDT",
        date(2026, 1, 7),
    )
    assert found.notional == Decimal("7.559406432")
    assert ledger.find_order("ACME", "nope") is None
    assert ledger.find_order("OTHER", "C-2") is None


def test_duplicate_cl_ord_id_raises_with_original_and_writes_nothing(ledger: Ledger) -> None:
    original = ledger.book_fill(booking(cl_ord_id="DUP", price=Decimal("60000")))
    resend = booking(cl_ord_id="DUP", price=Decimal("99999"))  # new ids, different price

    with pytest.raises(DuplicateClOrdID) as caught:
        ledger.book_fill(resend)

    assert caught.value.existing == original
    assert caught.value.existing.price == Decimal("60000")
    assert row_counts(ledger.engine) == {"orders": 1, "trades": 1, "hedge_intents": 1, "fills": 1}


def test_concurrent_bookings_of_one_cl_ord_id_make_one_trade(ledger: Ledger) -> None:
    threads = 8
    start = threading.Barrier(threads)

    def attempt(_: int) -> OrderRecord | DuplicateClOrdID:
        fill = booking(cl_ord_id="RACE")
        start.wait()
        try:
            return ledger.book_fill(fill)
        except DuplicateClOrdID as exc:
            return exc

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(attempt, range(threads)))

    booked = [o for o in outcomes if isinstance(o, OrderRecord)]
    dupes = [o for o in outcomes if isinstance(o, DuplicateClOrdID)]
    assert len(booked) == 1
    assert len(dupes) == threads - 1
    assert all(d.existing == booked[0] for d in dupes)
    assert row_counts(ledger.engine) == {"orders": 1, "trades": 1, "hedge_intents": 1, "fills": 1}


def test_same_cl_ord_id_for_another_counterparty_is_fine(ledger: Ledger) -> None:
    a = ledger.book_fill(booking(counterparty="ACME", cl_ord_id="1"))
    b = ledger.book_fill(booking(counterparty="GLOBEX", cl_ord_id="1"))
    assert a.trade_id != b.trade_id
    assert row_counts(ledger.engine)["trades"] == 2


def test_rejection_keeps_cl_ord_id_used(ledger: Ledger) -> None:
    rejected = ledger.record_rejection(rejection(cl_ord_id="R-1"))
    assert rejected.status is OrderStatus.REJECTED
    assert ledger.find_order("ACME", "R-1") == rejected

    with pytest.raises(DuplicateClOrdID) as caught:
        ledger.book_fill(booking(cl_ord_id="R-1"))
    assert caught.value.existing == rejected
    with pytest.raises(DuplicateClOrdID):
        ledger.record_rejection(rejection(cl_ord_id="R-1"))
    assert row_counts(ledger.engine) == {"orders": 1, "trades": 0, "hedge_intents": 0, "fills": 0}


def test_rejection_of_a_filled_cl_ord_id_returns_the_fill(ledger: Ledger) -> None:
    filled = ledger.book_fill(booking(cl_ord_id="F-1"))
    with pytest.raises(DuplicateClOrdID) as caught:
        ledger.record_rejection(rejection(cl_ord_id="F-1"))
    assert caught.value.existing == filled
    assert caught.value.existing.trade_id == filled.trade_id


def test_rejection_without_side_qty_or_price(ledger: Ledger) -> None:
    bare = rejection(cl_ord_id="R-2", side=None, qty=None, price=None, quote_id=None)
    stored = ledger.record_rejection(bare)
    found = ledger.find_order("ACME", "R-2")
    assert found == stored
    assert found is not None
    assert (found.side, found.qty, found.price, found.trade_id) == (None, None, None, None)
    assert (found.reject_code, found.reject_text) == ("QUOTE_EXPIRED", "quote expired")
    assert ledger.trade_log() == []
    assert ledger.pending_hedge_intents() == []


def test_boot_ids_strictly_increase_and_are_never_reused(ledger: Ledger) -> None:
    ids = [ledger.start_boot(T0 + timedelta(seconds=i), "desk-host", 1000 + i) for i in range(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    with ledger.engine.begin() as conn:
        conn.execute(delete(desk_boots).where(desk_boots.c.id == ids[-1]))

    after = ledger.start_boot(T0 + timedelta(minutes=1), "desk-host", 2000)

    assert after > ids[-1]
    with ledger.engine.connect() as conn:
        row = conn.execute(select(desk_boots).where(desk_boots.c.id == after)).one()
    assert (row.hostname, row.pid, row.started_at) == ("desk-host", 2000, T0 + timedelta(minutes=1))


@pytest.mark.parametrize("client_side", [Side.BUY, Side.SELL])
def test_hedge_intent_side_mapping(ledger: Ledger, client_side: Side) -> None:
    # Client BUY: the desk sold, so it buys back on the exchange; client SELL: it sells.
    record = ledger.book_fill(booking(side=client_side, qty=Decimal("1.5")))

    [intent] = ledger.pending_hedge_intents()

    assert intent.side is client_side is hedge_side(client_side)
    assert (intent.trade_id, intent.symbol, intent.qty) == (
        record.trade_id,
        "BTC/USD",
        Decimal("1.5"),
    )
    assert intent.status is HedgeIntentStatus.PENDING
    assert intent.created_at == intent.updated_at == T0


def test_pending_hedge_intents_are_oldest_first_and_only_pending(ledger: Ledger) -> None:
    records = [ledger.book_fill(booking()) for _ in range(3)]
    with ledger.engine.begin() as conn:
        conn.execute(
            hedge_intents.update()
            .where(hedge_intents.c.trade_id == records[1].trade_id)
            .values(status="DONE")
        )
    pending = ledger.pending_hedge_intents()
    assert [p.trade_id for p in pending] == [records[0].trade_id, records[2].trade_id]
    assert pending[0].id < pending[1].id


def test_trade_log_filters(ledger: Ledger) -> None:
    day = timedelta(days=1)
    a = ledger.book_fill(booking(counterparty="ACME", executed_at=T0))
    b = ledger.book_fill(booking(counterparty="GLOBEX", executed_at=T0 + day))
    c = ledger.book_fill(booking(counterparty="ACME", executed_at=T0 + 2 * day))
    d = ledger.book_fill(booking(counterparty="ACME", executed_at=T0 - day))  # booked late

    def ids(rows: list[TradeLogRow]) -> list[int | None]:
        return [r.trade_id for r in rows]

    assert ids(ledger.trade_log()) == [a.trade_id, b.trade_id, c.trade_id, d.trade_id]
    assert ids(ledger.trade_log(start=T0)) == [a.trade_id, b.trade_id, c.trade_id]  # inclusive
    assert ids(ledger.trade_log(end=T0 + day)) == [a.trade_id, d.trade_id]  # exclusive
    assert ids(ledger.trade_log(start=T0, end=T0 + 2 * day)) == [a.trade_id, b.trade_id]
    assert ids(ledger.trade_log(counterparty="ACME")) == [a.trade_id, c.trade_id, d.trade_id]
    assert ids(ledger.trade_log(counterparty="ACME", start=T0, limit=1)) == [a.trade_id]
    assert ids(ledger.trade_log(limit=2)) == [a.trade_id, b.trade_id]
    # The same instant written in another time zone: still inclusive.
    athens = T0.astimezone(timezone(timedelta(hours=2)))
    assert ids(ledger.trade_log(start=athens)) == [a.trade_id, b.trade_id, c.trade_id]
    with pytest.raises(ValueError, match="naive"):
        ledger.trade_log(start=T0.replace(tzinfo=None))


def test_traded_notional_is_exact_and_per_counterparty(ledger: Ledger) -> None:
    since = T0
    assert ledger.traded_notional("ACME", since) == Decimal(0)
    ledger.book_fill(
        booking(notional=Decimal("0.1"), executed_at=since - timedelta(microseconds=1))
    )
    ledger.book_fill(booking(notional=Decimal("0.1"), executed_at=since))
    ledger.book_fill(booking(notional=Decimal("0.2"), executed_at=since + timedelta(hours=1)))
    ledger.book_fill(
        booking(notional=Decimal("12345678901234567890.123456789012345678"), executed_at=since)
    )
    ledger.book_fill(booking(counterparty="GLOBEX", notional=Decimal("5"), executed_at=since))

    total = ledger.traded_notional("ACME", since)

    assert total == Decimal("12345678901234567890.423456789012345678")
    assert str(total) == "12345678901234567890.423456789012345678"
    assert ledger.traded_notional("GLOBEX", since) == Decimal(5)
    assert ledger.traded_notional("ACME", since + timedelta(hours=2)) == Decimal(0)


def test_failure_in_the_trade_insert_leaves_nothing(ledger: Ledger) -> None:
    # qty 0 passes the orders table (rejections may carry anything) but not the trades CHECK,
    # so the order row is written first and must be rolled back with the rest.
    with pytest.raises(IntegrityError):
        ledger.book_fill(booking(cl_ord_id="Z", qty=Decimal(0)))
    assert row_counts(ledger.engine) == {"orders": 0, "trades": 0, "hedge_intents": 0, "fills": 0}
    # The ClOrdID was never used: the corrected order books fine.
    assert ledger.book_fill(booking(cl_ord_id="Z")).trade_id is not None


def test_failure_in_the_last_insert_leaves_nothing(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'boom'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON hedge_intents "
                "FOR EACH ROW EXECUTE FUNCTION boom()"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON hedge_intents "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )

    with pytest.raises(DBAPIError, match="boom"):
        ledger.book_fill(booking(cl_ord_id="Y"))

    assert row_counts(ledger.engine) == {"orders": 0, "trades": 0, "hedge_intents": 0, "fills": 0}
    assert ledger.find_order("ACME", "Y") is None


def test_foreign_keys_are_enforced(ledger: Ledger) -> None:
    # SQLite ignores FOREIGN KEY clauses unless each connection turns them on.
    with pytest.raises(IntegrityError), ledger.engine.begin() as conn:
        conn.execute(
            insert(hedge_intents).values(
                trade_id=424242,
                symbol="BTC/USD",
                side="BUY",
                qty=Decimal(1),
                created_at=T0,
                updated_at=T0,
            )
        )
    assert row_counts(ledger.engine)["hedge_intents"] == 0


def test_bad_values_are_refused_before_anything_is_written(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="naive"):
        ledger.book_fill(booking(executed_at=datetime(2026, 1, 5, 12)))  # noqa: DTZ001
    with pytest.raises(TypeError, match="float"):
        ledger.book_fill(booking(qty=0.5))
    with pytest.raises(ValueError, match="decimal places"):
        ledger.book_fill(booking(price=Decimal("1.0000000000000000001")))
    with pytest.raises(ValueError, match="naive"):
        ledger.record_rejection(rejection(received_at=datetime(2026, 1, 5)))  # noqa: DTZ001
    assert row_counts(ledger.engine) == {"orders": 0, "trades": 0, "hedge_intents": 0, "fills": 0}


@pytest.mark.parametrize("client_side", [Side.BUY, Side.SELL])
def test_book_fill_writes_the_canonical_fill_from_the_desks_side(
    ledger: Ledger, client_side: Side
) -> None:
    record = ledger.book_fill(booking(side=client_side, qty=Decimal("1.5")))

    with ledger.engine.connect() as conn:
        [row] = conn.execute(select(fills)).all()
    assert row.fill_key == f"client:ACME:{record.cl_ord_id}"
    assert (row.source, row.counterparty, row.venue) == ("CLIENT", "ACME", None)
    assert (row.symbol, row.base, row.quote) == ("BTC/USD", "BTC", "USD")
    assert row.side == client_side.opposite.value
    assert (row.qty, row.price) == (Decimal("1.5"), record.price)
    assert (row.fee, row.fee_currency) == (Decimal(0), "USD")
    assert (row.trade_id, row.executed_at, row.settl_date) == (
        record.trade_id,
        T0,
        record.settl_date,
    )


def test_book_fill_repeated_cl_ord_id_leaves_one_canonical_fill(ledger: Ledger) -> None:
    first = booking()
    ledger.book_fill(first)
    with pytest.raises(DuplicateClOrdID):
        ledger.book_fill(booking(cl_ord_id=first.cl_ord_id))

    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fills)).scalar_one() == 1
