"""The journal on SQLite and PostgreSQL: posting rules, what each booking writes in its
transaction (entry, postings, settlement obligations, audit record), balances from postings."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from desk.audit.body import canonical_body
from desk.domain.fills import FillEvent, FillSource, exchange_booking_key
from desk.domain.side import Side
from desk.ledger.hedge_store import HedgeStore
from desk.ledger.journal import Posting, obligations_of, postings_of
from desk.ledger.models import audit_log, journal_entries, postings, settlement_obligations
from desk.ledger.repository import Ledger, client_fill_event
from tests.ledger.factories import T0, booking, rejection

D = Decimal


def exchange_event(trade_id: str = "9001", **overrides: Any) -> FillEvent:
    """A desk BUY of 0.4 BTC/USD at 60000.5 on sim-a, fee 0.001 BTC, unless overridden."""
    venue = str(overrides.pop("venue", "sim-a"))
    event = FillEvent(
        booking_key=exchange_booking_key(venue, trade_id),
        source=FillSource.EXCHANGE,
        symbol="BTC/USD",
        side=Side.BUY,
        qty=D("0.4"),
        price=D("60000.5"),
        fee=D("0.001"),
        fee_currency="BTC",
        executed_at=T0,
        venue=venue,
        client_order_id="otc-b1-c0-v0",
    )
    return replace(event, **overrides)


def journal_of(engine: Engine, entry_key: str) -> list[tuple[str, str, Decimal]]:
    """(account, asset, amount) of one entry's postings in the order written."""
    stmt = (
        select(postings.c.account, postings.c.asset, postings.c.amount)
        .where(postings.c.entry_key == entry_key)
        .order_by(postings.c.id)
    )
    with engine.connect() as conn:
        return [(row.account, row.asset, row.amount) for row in conn.execute(stmt)]


def ledger_audit_rows(engine: Engine) -> list[dict[str, Any]]:
    """The kind='ledger' audit records in chain order."""
    stmt = select(audit_log).where(audit_log.c.kind == "ledger").order_by(audit_log.c.seq)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


# --- posting rules ------------------------------------------------------------------------


def test_postings_of_client_buy_when_no_fee_then_four_lines_desk_sells() -> None:
    order = {
        "counterparty": "ACME", "cl_ord_id": "C1", "symbol": "BTC/USDT", "side": "BUY",
        "qty": D(2), "price": D("60100"),
    }  # fmt: skip
    event = client_fill_event(order, {"executed_at": T0, "settl_date": date(2026, 1, 6)})

    lines = postings_of(event)

    assert lines == (
        Posting("desk:inventory", "BTC", D(-2)),
        Posting("counterparty:ACME", "BTC", D(2)),
        Posting("desk:inventory", "USDT", D(120200)),
        Posting("counterparty:ACME", "USDT", D(-120200)),
    )
    assert obligations_of(event, lines) == lines[1::2]


def test_postings_of_exchange_sell_when_fee_in_quote_then_fee_lines_to_venue() -> None:
    event = exchange_event(side=Side.SELL, fee=D("1.25"), fee_currency="USD", venue="sim-b")

    assert postings_of(event) == (
        Posting("desk:inventory", "BTC", D("-0.4")),
        Posting("venue:sim-b", "BTC", D("0.4")),
        Posting("desk:inventory", "USD", D("24000.2")),
        Posting("venue:sim-b", "USD", D("-24000.2")),
        Posting("desk:inventory", "USD", D("-1.25")),
        Posting("fees:sim-b", "USD", D("1.25")),
    )
    assert obligations_of(event, postings_of(event)) == ()


def test_postings_of_when_product_has_more_than_28_digits_then_exact() -> None:
    # 38 significant digits: the default decimal context (28) would round it silently.
    event = exchange_event(qty=D("12345678.123456789"), price=D("98765432109.987654321"), fee=D(0))

    quote_lines = [p.amount for p in postings_of(event) if p.asset == "USD"]

    assert quote_lines == [
        D("-1219326234554031276.718945270112635269"),
        D("1219326234554031276.718945270112635269"),
    ]


# --- what a booking writes ----------------------------------------------------------------


def test_book_fill_writes_entry_postings_obligations_and_audit_record(ledger: Ledger) -> None:
    b = booking(cl_ord_id="J-1")

    record = ledger.book_fill(b)

    engine = ledger.engine
    with engine.connect() as conn:
        entry = conn.execute(select(journal_entries)).one()
        owed = conn.execute(
            select(
                settlement_obligations.c.trade_id,
                settlement_obligations.c.counterparty,
                settlement_obligations.c.asset,
                settlement_obligations.c.amount,
                settlement_obligations.c.settl_date,
                settlement_obligations.c.created_at,
            ).order_by(settlement_obligations.c.asset)
        ).all()
    assert (entry.entry_key, entry.kind, entry.booked_at) == ("client:ACME:J-1", "CLIENT_TRADE", T0)
    assert journal_of(engine, "client:ACME:J-1") == [
        ("desk:inventory", "BTC", D("-0.00012345")),
        ("counterparty:ACME", "BTC", D("0.00012345")),
        ("desk:inventory", "USD", D("7.559406432")),
        ("counterparty:ACME", "USD", D("-7.559406432")),
    ]
    settl = date(2026, 1, 6)
    assert [tuple(row) for row in owed] == [
        (record.trade_id, "ACME", "BTC", D("0.00012345"), settl, T0),
        (record.trade_id, "ACME", "USD", D("-7.559406432"), settl, T0),
    ]
    [audit] = ledger_audit_rows(engine)
    assert {k: audit[k] for k in ("recorded_at", "msg_type", "counterparty", "reason")} == {
        "recorded_at": T0,
        "msg_type": "CLIENT_FILL",
        "counterparty": "ACME",
        "reason": None,
    }
    assert (audit["quote_req_id"], audit["quote_id"], audit["cl_ord_id"], audit["order_id"]) == (
        b.quote_req_id,
        b.quote_id,
        "J-1",
        b.order_id,
    )
    assert audit["body"] == canonical_body(asdict(b))
    assert '"qty":"0.00012345"' in audit["body"]
    assert audit["hash"] is not None  # chained by the database


def test_record_rejection_writes_an_order_rejected_audit_record(ledger: Ledger) -> None:
    r = rejection(cl_ord_id="J-R")

    ledger.record_rejection(r)

    [audit] = ledger_audit_rows(ledger.engine)
    assert (audit["msg_type"], audit["reason"], audit["cl_ord_id"], audit["order_id"]) == (
        "ORDER_REJECTED",
        "QUOTE_EXPIRED",
        "J-R",
        r.order_id,
    )
    assert (audit["recorded_at"], audit["quote_id"], audit["quote_req_id"]) == (
        T0,
        r.quote_id,
        None,
    )
    assert audit["body"] == canonical_body(asdict(r))


def test_book_fill_event_writes_entry_with_fee_lines_and_audit_record(ledger: Ledger) -> None:
    store = HedgeStore(ledger.engine)
    event = exchange_event()
    booked_at = T0 + timedelta(seconds=1)

    assert store.book_fill_event(event, booked_at) is True

    assert journal_of(ledger.engine, "exchange:sim-a:9001") == [
        ("desk:inventory", "BTC", D("0.4")),
        ("venue:sim-a", "BTC", D("-0.4")),
        ("desk:inventory", "USD", D("-24000.2")),
        ("venue:sim-a", "USD", D("24000.2")),
        ("desk:inventory", "BTC", D("-0.001")),
        ("fees:sim-a", "BTC", D("0.001")),
    ]
    with ledger.engine.connect() as conn:
        entry = conn.execute(select(journal_entries)).one()
        assert conn.execute(select(settlement_obligations)).all() == []
    assert (entry.kind, entry.booked_at) == ("EXCHANGE_FILL", booked_at)
    [audit] = ledger_audit_rows(ledger.engine)
    assert (audit["msg_type"], audit["recorded_at"], audit["counterparty"]) == (
        "EXCHANGE_FILL",
        booked_at,
        None,
    )
    assert audit["body"] == canonical_body(asdict(event))


# --- balances -----------------------------------------------------------------------------


def test_balances_when_client_trade_and_hedge_then_per_account_and_asset(ledger: Ledger) -> None:
    ledger.book_fill(booking())
    HedgeStore(ledger.engine).book_fill_event(exchange_event(), T0)

    assert ledger.balances() == {
        ("desk:inventory", "BTC"): D("0.39887655"),
        ("desk:inventory", "USD"): D("-23992.640593568"),
        ("counterparty:ACME", "BTC"): D("0.00012345"),
        ("counterparty:ACME", "USD"): D("-7.559406432"),
        ("venue:sim-a", "BTC"): D("-0.4"),
        ("venue:sim-a", "USD"): D("24000.2"),
        ("fees:sim-a", "BTC"): D("0.001"),
    }


def test_balances_when_sum_needs_more_than_float_precision_then_exact(ledger: Ledger) -> None:
    # 0.1 + 0.2 is not 0.3 in floats; nor is 10^19 + 10^-18 distinguishable from 10^19.
    for n, (qty, price) in enumerate(
        [(D("0.1"), D(1)), (D("0.2"), D(1)), (D("10000000000000000000"), D("0.000000000000000001"))]
    ):
        ledger.book_fill(booking(cl_ord_id=f"X{n}", qty=qty, price=price, notional=qty * price))

    balances = ledger.balances()

    assert balances[("desk:inventory", "BTC")] == D("-10000000000000000000.3")
    assert balances[("desk:inventory", "USD")] == D("10.3")


def test_balances_when_nothing_booked_then_empty(ledger: Ledger) -> None:
    assert ledger.balances() == {}
