"""desk.ledger.hedge_store on SQLite and PostgreSQL: batches net the whole position, exchange
fills book once, positions derive from every fill."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select

from desk.domain.side import Side
from desk.ledger.column_types import exact_sum
from desk.ledger.database import make_engines
from desk.ledger.fill_rows import FILL_ROW_COLUMNS, fill_row
from desk.ledger.hedge_store import BatchRecord, BatchResult, HedgeOrderRecord, HedgeStore
from desk.ledger.models import fills, hedge_batches, hedge_intents, hedge_orders
from desk.ledger.records import BookingConflict
from desk.ledger.repository import Ledger
from desk.venues.orders import ExchangeFill, exchange_fill_event
from tests.ledger.factories import T0, booking

LOT = Decimal("0.00001")


@pytest.fixture
def store(ledger: Ledger) -> HedgeStore:
    return HedgeStore(ledger.engine)


def exchange_fill(trade_id: str, qty: str, side: Side = Side.BUY, **kw: object) -> ExchangeFill:
    values: dict[str, object] = {
        "venue": "sim-a",
        "symbol": "BTC/USD",
        "trade_id": trade_id,
        "client_order_id": "otc-b1-c0-v0",
        "exchange_order_id": "77",
        "side": side,
        "qty": Decimal(qty),
        "price": Decimal("60000.5"),
        "fee": Decimal("0.001"),
        "fee_currency": "BTC",
        "executed_at": T0,
    } | kw
    return ExchangeFill(**values)  # type: ignore[arg-type]


def test_open_batch_when_no_pending_intent_then_none(store: HedgeStore) -> None:
    assert store.open_batch("BTC/USD", "router", None, T0, LOT) is None


def test_open_batch_when_client_flow_offsets_then_only_the_net_is_hedged(
    ledger: Ledger, store: HedgeStore
) -> None:
    ledger.book_fill(booking(side=Side.BUY, qty=Decimal(3)))  # desk short 3
    ledger.book_fill(booking(side=Side.SELL, qty=Decimal("1.25")))  # desk long 1.25

    batch = store.open_batch("BTC/USD", "twap", Decimal(60000), T0, LOT)

    assert batch is not None
    assert (batch.side, batch.qty, batch.algo) == (Side.BUY, Decimal("1.75"), "twap")
    assert len(batch.trade_ids) == 2
    assert store.symbols_with_pending_intents() == []
    assert [b.id for b in store.working_batches()] == [batch.id]


def test_open_batch_when_flow_nets_to_zero_then_empty_batch_internalised(
    ledger: Ledger, store: HedgeStore
) -> None:
    ledger.book_fill(booking(side=Side.BUY, qty=Decimal(2)))
    ledger.book_fill(booking(side=Side.SELL, qty=Decimal(2)))

    batch = store.open_batch("BTC/USD", "router", None, T0, LOT)

    assert batch is not None
    assert batch.qty == Decimal(0)


def test_open_batch_when_position_has_dust_below_lot_then_dust_stays_in_position(
    ledger: Ledger, store: HedgeStore
) -> None:
    ledger.book_fill(booking(side=Side.BUY, qty=Decimal("1.000004")))

    batch = store.open_batch("BTC/USD", "router", None, T0, LOT)

    assert batch is not None
    assert batch.qty == Decimal(1)
    assert store.position("BTC/USD") == Decimal("-1.000004")


def test_book_exchange_fill_when_repeated_then_booked_once(store: HedgeStore) -> None:
    assert store.book_fill_event(exchange_fill_event(exchange_fill("9001", "0.4")), T0) is True
    assert store.book_fill_event(exchange_fill_event(exchange_fill("9001", "0.4")), T0) is False

    assert store.position("BTC/USD") == Decimal("0.4")


def test_book_exchange_fill_when_same_trade_id_other_terms_then_refused(
    store: HedgeStore,
) -> None:
    store.book_fill_event(exchange_fill_event(exchange_fill("9002", "0.4")), T0)

    with pytest.raises(BookingConflict, match="qty"):
        store.book_fill_event(exchange_fill_event(exchange_fill("9002", "0.5")), T0)


def test_positions_when_client_and_exchange_fills_then_net_per_symbol_and_asset(
    ledger: Ledger, store: HedgeStore
) -> None:
    ledger.book_fill(booking(side=Side.BUY, qty=Decimal(1), price=Decimal(60000)))
    store.book_fill_event(exchange_fill_event(exchange_fill("1", "1", price=Decimal(59990))), T0)

    assert store.positions_by_symbol() == {"BTC/USD": Decimal(0)}
    assets = store.positions_by_asset()
    # Sold 1 BTC at 60000 to the client, bought 1 at 59990 paying 0.001 BTC in fees.
    assert assets["BTC"] == Decimal("-0.001")
    assert assets["USD"] == Decimal(10)


def test_orders_when_recorded_and_updated_then_read_back(store: HedgeStore, ledger: Ledger) -> None:
    ledger.book_fill(booking(side=Side.BUY, qty=Decimal(1)))
    batch = store.open_batch("BTC/USD", "router", None, T0, LOT)
    assert batch is not None
    order = HedgeOrderRecord(
        client_order_id=f"otc-b{batch.id}-c0-v0",
        batch_id=batch.id,
        clip_no=0,
        venue="sim-a",
        symbol="BTC/USD",
        side=Side.BUY,
        qty=Decimal(1),
        status="PENDING_NEW",
        exchange_order_id=None,
        filled_qty=Decimal(0),
    )
    store.record_order(order, T0)
    # The first order stamps the batch; a later one leaves the stamp alone.
    later = replace(order, client_order_id=f"otc-b{batch.id}-c1-v0", clip_no=1)
    store.record_order(later, T0 + timedelta(milliseconds=1))
    store.update_order(
        order.client_order_id,
        status="FILLED",
        filled_qty=Decimal(1),
        exchange_order_id="42",
        at=T0 + timedelta(milliseconds=3),
    )

    stored, _ = store.orders_of(batch.id)
    assert (stored.status, stored.filled_qty, stored.exchange_order_id) == (
        "FILLED",
        Decimal(1),
        "42",
    )
    assert store.working_batches()[0].first_order_at == T0


def test_positions_follow_every_fill_exactly_whoever_books_it(
    ledger: Ledger, store: HedgeStore
) -> None:
    # 17 significant digits: a float would round.
    ledger.book_fill(booking(side=Side.SELL, qty=Decimal("1.1234567890123456")))  # desk buys
    ledger.book_fill(booking(side=Side.BUY, qty=Decimal("0.0000000000000001")))
    ledger.book_fill(booking(side=Side.BUY, qty=Decimal("2"), symbol="ETH/USD"))
    store.book_fill_event(exchange_fill_event(exchange_fill("t1", "0.5", Side.SELL)), T0)

    with ledger.engine.connect() as conn:
        rows = conn.execute(select(fills.c.symbol, fills.c.side, fills.c.qty)).all()
    recomputed: dict[str, list[Decimal]] = {}
    for symbol, side, qty in rows:
        recomputed.setdefault(symbol, []).append(qty if side == "BUY" else -qty)

    assert store.positions_by_symbol() == {s: exact_sum(q) for s, q in recomputed.items()}
    assert store.position("BTC/USD") == Decimal("0.6234567890123455")
    assert store.position("ETH/USD") == Decimal("-2")
    assert store.position("SOL/USD") == 0


def test_client_and_exchange_fills_booked_at_once_neither_deadlock_nor_lose_a_fill(
    ledger: Ledger, store: HedgeStore
) -> None:
    # Each booking takes the audit chain's lock and the symbol's position row. Taken in two
    # orders by two transactions, PostgreSQL would break one of them as a deadlock.
    rounds = 40
    errors: list[BaseException] = []

    def clients() -> None:
        try:
            for _ in range(rounds):
                ledger.book_fill(booking(side=Side.BUY, qty=Decimal("0.01")))  # desk -0.01
        except BaseException as exc:
            errors.append(exc)

    def hedger() -> None:
        try:
            for n in range(rounds):
                event = exchange_fill_event(exchange_fill(f"x{n}", "0.03"))  # desk +0.03
                store.book_fill_event(event, T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=f) for f in (clients, clients, hedger)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert store.position("BTC/USD") == rounds * (Decimal("0.03") - 2 * Decimal("0.01"))


def test_open_batch_when_hedgers_race_bookings_then_each_intent_claimed_exactly_once(
    ledger: Ledger, store: HedgeStore
) -> None:
    # Two hedgers (as two desk processes on one PostgreSQL would run) claim while fills are
    # booked: no intent may end in two batches or in none.
    other = HedgeStore(ledger.engine)
    batches: list[BatchRecord] = []
    errors: list[BaseException] = []

    def book() -> None:
        try:
            for _ in range(30):
                ledger.book_fill(booking(side=Side.BUY, qty=Decimal("0.1")))
        except BaseException as exc:
            errors.append(exc)

    def claim(hedger: HedgeStore) -> None:
        try:
            for _ in range(30):
                batch = hedger.open_batch("BTC/USD", "router", None, T0, LOT)
                if batch is not None:
                    batches.append(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=f) for f in (book, lambda: claim(store), lambda: claim(other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    last = store.open_batch("BTC/USD", "router", None, T0, LOT)  # whatever came after
    if last is not None:
        batches.append(last)

    assert errors == []
    claimed = [trade_id for batch in batches for trade_id in batch.trade_ids]
    assert len(claimed) == len(set(claimed)) == 30
    assert store.symbols_with_pending_intents() == []


def test_fill_row_columns_are_what_fill_row_builds() -> None:
    # The one-statement booking on PostgreSQL binds exactly these columns.
    event = exchange_fill_event(exchange_fill("t1", "1"))

    assert tuple(fill_row(event, T0)) == FILL_ROW_COLUMNS


def _batch_with_recorded_order(store: HedgeStore) -> tuple[BatchRecord, HedgeOrderRecord]:
    """A batch opened on the pending BTC/USD intents, with its first order recorded."""
    batch = store.open_batch("BTC/USD", "router", None, T0, LOT)
    assert batch is not None
    order = HedgeOrderRecord(
        client_order_id=f"otc-b{batch.id}-c0-v0", batch_id=batch.id, clip_no=0,
        venue="sim-a", symbol="BTC/USD", side=Side.BUY, qty=Decimal(1),
        status="PENDING_NEW", exchange_order_id=None, filled_qty=Decimal(0),
    )  # fmt: skip
    store.record_order(order, T0)
    return batch, order


def test_only_an_order_about_to_be_sent_waits_for_the_disk(db_url: str) -> None:
    """The write before an order goes out is durable; the hedger's other writes are deferred
    (they reach the disk with that write at the latest, see LedgerEngines)."""
    engines = make_engines(db_url)
    seen: dict[str, list[str]] = {"durable": [], "deferred": []}
    for name, engine in (("durable", engines.durable), ("deferred", engines.deferred)):

        def record(*args: Any, _into: list[str] = seen[name]) -> None:
            statement = str(args[2]).lstrip().upper()
            if statement.startswith(("INSERT", "UPDATE", "WITH")):
                _into.append(statement)

        # Statements run on the driver's cursor (raw_statements) are seen too.
        event.listen(engine, "before_cursor_execute", record)
    try:
        Ledger(engines.durable).book_fill(booking(side=Side.BUY, qty=Decimal(1)))
        seen["durable"].clear()
        store = HedgeStore(engines.durable, engines.deferred)
        batch, order = _batch_with_recorded_order(store)
        durable_writes = len(seen["durable"])
        store.update_order(
            order.client_order_id, status="FILLED", filled_qty=Decimal(1),
            exchange_order_id="42", at=T0,
        )  # fmt: skip
        # The client bought 1 from the desk, so the hedge buys 1 back.
        fill = exchange_fill("t-1", "1", Side.BUY, client_order_id=order.client_order_id)
        assert store.book_fill_event(exchange_fill_event(fill), T0)
        store.finish_batch(
            batch.id,
            BatchResult("DONE", Decimal(1), Decimal(60000), Decimal(0), None, None, None),
            T0,
        )
    finally:
        engines.dispose()
    assert durable_writes == len(seen["durable"]) >= 1
    assert all("HEDGE_ORDERS" in s or "HEDGE_BATCHES" in s for s in seen["durable"])
    deferred = " ".join(seen["deferred"])
    for table in ("HEDGE_INTENTS", "HEDGE_ORDERS", "FILLS", "AUDIT_LOG", "HEDGE_BATCHES"):
        assert table in deferred
    assert store.positions_by_symbol() == {"BTC/USD": Decimal(0)}


@pytest.mark.postgres
def test_postgres_order_updates_and_batch_close_are_one_autocommit_statement_each(
    pg_url: str,
) -> None:
    """No BEGIN/COMMIT round trips around the hedger's single-statement writes."""
    engines = make_engines(pg_url)
    sent: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        sent.append((statement.lstrip().split()[0].upper(), cursor.connection.autocommit))

    try:
        Ledger(engines.durable).book_fill(booking(side=Side.BUY, qty=Decimal(1)))
        store = HedgeStore(engines.durable, engines.deferred)
        batch, order = _batch_with_recorded_order(store)
        event.listen(engines.deferred, "before_cursor_execute", record)
        store.update_order(
            order.client_order_id, status="FILLED", filled_qty=Decimal(1),
            exchange_order_id="42", at=T0,
        )  # fmt: skip
        store.finish_batch(
            batch.id,
            BatchResult("FAILED", Decimal(1), Decimal(60000), Decimal(0), None, None, "x"),
            T0,
        )
        with engines.durable.connect() as conn:
            batch_row = conn.execute(
                select(hedge_batches.c.status, hedge_batches.c.error).where(
                    hedge_batches.c.id == batch.id
                )
            ).one()
            intents = conn.execute(
                select(hedge_intents.c.status).where(hedge_intents.c.batch_id == batch.id)
            ).scalars().all()
            order_status = conn.execute(
                select(hedge_orders.c.status).where(
                    hedge_orders.c.client_order_id == order.client_order_id
                )
            ).scalar_one()
    finally:
        engines.dispose()
    assert sent == [("UPDATE", True), ("WITH", True)]
    assert tuple(batch_row) == ("FAILED", "x")
    assert intents == ["FAILED"]
    assert order_status == "FILLED"
