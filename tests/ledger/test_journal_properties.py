"""Property tests: random sequences of client trades and exchange fills, booked through the
real Ledger and HedgeStore, keep every asset's postings at zero and the balances equal to the
sum of the fills; the SQLite balance trigger is exact on random amounts."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from desk.domain.fills import FillEvent, FillSource, exchange_booking_key
from desk.domain.side import Side
from desk.ledger.column_types import exact_sum
from desk.ledger.database import make_engine
from desk.ledger.fill_rows import fill_row
from desk.ledger.hedge_store import HedgeStore
from desk.ledger.models import fills, journal_entries, postings
from desk.ledger.repository import Ledger
from tests.ledger.factories import T0, booking
from tests.ledger.test_journal import exchange_event

SYMBOLS = ("BTC/USD", "ETH/USD", "ETH/BTC")
_keys = itertools.count(1)
Balances = dict[tuple[str, str], Decimal]


def scaled(max_places: int, max_mantissa: int = 10**9) -> st.SearchStrategy[Decimal]:
    """Positive decimals m * 10^-k, k <= max_places (exact, built from text)."""
    return st.builds(
        lambda m, k: Decimal(f"{m}E-{k}"),
        st.integers(1, max_mantissa),
        st.integers(0, max_places),
    )


@dataclass(frozen=True)
class ClientTrade:
    counterparty: str
    symbol: str
    side: Side  # the client's
    qty: Decimal
    price: Decimal


@dataclass(frozen=True)
class ExchangeFill:
    venue: str
    symbol: str
    side: Side  # the desk's
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_in_base: bool


# Quantities with up to 10 places times prices with up to 8 fit NUMERIC(38,18) exactly.
client_trades = st.builds(
    ClientTrade,
    st.sampled_from(["ACME", "GLOBEX"]),
    st.sampled_from(SYMBOLS),
    st.sampled_from(Side),
    scaled(10),
    scaled(8),
)
exchange_fills = st.builds(
    ExchangeFill,
    st.sampled_from(["sim-a", "sim-b"]),
    st.sampled_from(SYMBOLS),
    st.sampled_from(Side),
    scaled(10),
    scaled(8),
    st.one_of(st.just(Decimal(0)), scaled(18)),
    st.booleans(),
)
operations = st.lists(st.one_of(client_trades, exchange_fills), min_size=1, max_size=12)


def expected_delta(ops: list[ClientTrade | ExchangeFill]) -> Balances:
    """The balance changes the contract's posting rules imply, worked out independently."""
    delta: defaultdict[tuple[str, str], list[Decimal]] = defaultdict(list)

    def move(account: str, asset: str, amount: Decimal) -> None:
        delta[(account, asset)].append(amount)
        delta[("desk:inventory", asset)].append(-amount)

    for op in ops:
        base, _, quote = op.symbol.partition("/")
        if isinstance(op, ClientTrade):
            client_gets = op.qty if op.side is Side.BUY else -op.qty
            move(f"counterparty:{op.counterparty}", base, client_gets)
            move(f"counterparty:{op.counterparty}", quote, -client_gets * op.price)
        else:
            desk_gets = op.qty if op.side is Side.BUY else -op.qty
            move(f"venue:{op.venue}", base, -desk_gets)
            move(f"venue:{op.venue}", quote, desk_gets * op.price)
            if op.fee:
                move(f"fees:{op.venue}", base if op.fee_in_base else quote, op.fee)
    return {key: exact_sum(values) for key, values in delta.items()}


def book(ledger: Ledger, store: HedgeStore, op: ClientTrade | ExchangeFill) -> None:
    n = next(_keys)
    base, _, quote = op.symbol.partition("/")
    if isinstance(op, ClientTrade):
        ledger.book_fill(
            booking(
                counterparty=op.counterparty, cl_ord_id=f"P{n}", symbol=op.symbol, side=op.side,
                qty=op.qty, price=op.price, notional=op.qty * op.price, currency=quote,
            )
        )  # fmt: skip
        return
    event = FillEvent(
        booking_key=exchange_booking_key(op.venue, f"T{n}"),
        source=FillSource.EXCHANGE,
        symbol=op.symbol,
        side=op.side,
        qty=op.qty,
        price=op.price,
        fee=op.fee,
        fee_currency=base if op.fee_in_base else quote,
        executed_at=T0,
        venue=op.venue,
        client_order_id=f"otc-{n}",
    )
    assert store.book_fill_event(event, T0) is True


def difference(after: Balances, before: Balances) -> Balances:
    keys = after.keys() | before.keys()
    zero = Decimal(0)
    diff = {k: exact_sum([after.get(k, zero), before.get(k, zero).copy_negate()]) for k in keys}
    return {k: v for k, v in diff.items() if v != 0}


def entry_sums(engine: Engine) -> dict[tuple[str, str], Decimal]:
    """Sum of every entry's postings per asset, added up exactly in Python."""
    lines: defaultdict[tuple[str, str], list[Decimal]] = defaultdict(list)
    stmt = select(postings.c.entry_key, postings.c.asset, postings.c.amount)
    with engine.connect() as conn:
        for key, asset, amount in conn.execute(stmt):
            lines[(key, asset)].append(amount)
    return {k: exact_sum(v) for k, v in lines.items()}


def check_sequence(ledger: Ledger, ops: list[ClientTrade | ExchangeFill]) -> None:
    store = HedgeStore(ledger.engine)
    before = ledger.balances()

    for op in ops:
        book(ledger, store, op)

    after = ledger.balances()
    assert difference(after, before) == {k: v for k, v in expected_delta(ops).items() if v != 0}
    per_asset: defaultdict[str, list[Decimal]] = defaultdict(list)
    for (_, asset), amount in after.items():
        per_asset[asset].append(amount)
    assert {asset: exact_sum(v) for asset, v in per_asset.items()} == dict.fromkeys(per_asset, 0)
    assert set(entry_sums(ledger.engine).values()) == {Decimal(0)}
    # The desk's inventory is the sum of every booked fill (computed from `fills`, not postings).
    desk = {asset: v for (account, asset), v in after.items() if account == "desk:inventory"}
    from_fills = {asset: v for asset, v in store.positions_by_asset().items() if v != 0}
    assert {asset: v for asset, v in desk.items() if v != 0} == from_fills


@pytest.fixture
def sqlite_ledger(sqlite_url: str) -> Iterator[Ledger]:
    engine = make_engine(sqlite_url)
    try:
        yield Ledger(engine)
    finally:
        engine.dispose()


@pytest.fixture
def pg_ledger(pg_url: str) -> Iterator[Ledger]:
    engine = make_engine(pg_url)
    try:
        yield Ledger(engine)
    finally:
        engine.dispose()


# The database lives for the whole test and collects every example's bookings: the checks
# compare balances before and after each example, so earlier examples do not matter.
_ACROSS_EXAMPLES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=25, deadline=None, suppress_health_check=_ACROSS_EXAMPLES)
@given(ops=operations)
def test_sequence_on_sqlite_keeps_assets_at_zero_and_balances_equal_to_fills(
    sqlite_ledger: Ledger, ops: list[ClientTrade | ExchangeFill]
) -> None:
    check_sequence(sqlite_ledger, ops)


@settings(max_examples=6, deadline=None, suppress_health_check=_ACROSS_EXAMPLES)
@given(ops=st.lists(st.one_of(client_trades, exchange_fills), min_size=1, max_size=6))
def test_sequence_on_postgres_keeps_assets_at_zero_and_balances_equal_to_fills(
    pg_ledger: Ledger, ops: list[ClientTrade | ExchangeFill]
) -> None:
    check_sequence(pg_ledger, ops)


# --- the SQLite trigger's exact sum ---------------------------------------------------------

# Values DecimalType stores, below 10^19 so that a sum of five still has at most 20 digits.
amounts = st.integers(0, 18).flatmap(
    lambda k: (
        st.integers(-(10 ** (19 + k)) + 1, 10 ** (19 + k) - 1)
        .filter(bool)
        .map(lambda m: Decimal(f"{m}E-{k}"))
    )
)


def closing_lines(lines: list[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """``lines`` plus, per asset, the amount that brings it to zero."""
    sums: defaultdict[str, list[Decimal]] = defaultdict(list)
    for asset, amount in lines:
        sums[asset].append(amount)
    closing = [(a, exact_sum(v).copy_negate()) for a, v in sums.items() if exact_sum(v) != 0]
    return [*lines, *closing]


def balance_check_accepts(engine: Engine, lines: list[tuple[str, Decimal]]) -> bool:
    """Write ``lines`` as one entry on SQLite; whether the trigger let it in (rolled back)."""
    event = exchange_event(f"H{next(_keys)}")
    with engine.connect() as conn, conn.begin() as trans:
        fill_id = conn.execute(insert(fills).returning(fills.c.id), fill_row(event, T0)).scalar()
        conn.execute(
            insert(postings),
            [
                {"entry_key": event.booking_key, "account": f"a{i}", "asset": a, "amount": m}
                for i, (a, m) in enumerate(lines)
            ],
        )
        entry = {"entry_key": event.booking_key, "fill_id": fill_id, "kind": "EXCHANGE_FILL"}
        try:
            conn.execute(insert(journal_entries), {**entry, "booked_at": T0})
        except IntegrityError as exc:
            refusal = str(exc.orig)
        else:
            refusal = None
        trans.rollback()
    assert refusal in (None, "journal entry does not balance per asset")
    return refusal is None


@settings(max_examples=150, deadline=None, suppress_health_check=_ACROSS_EXAMPLES)
@given(
    lines=st.lists(st.tuples(st.sampled_from(["BTC", "USD"]), amounts), min_size=1, max_size=4),
    nudge=st.one_of(st.none(), amounts),
)
@example(lines=[("USD", Decimal("0.1")), ("USD", Decimal("0.2"))], nudge=None)
@example(lines=[("BTC", Decimal("9999999999999999999.999999999999999999"))], nudge=None)
@example(
    lines=[("BTC", Decimal("1000000000000000000")), ("BTC", Decimal("0.000000000000000001"))],
    nudge=Decimal("0.000000000000000001"),
)
def test_sqlite_balance_trigger_is_exact(
    sqlite_url: str, lines: list[tuple[str, Decimal]], nudge: Decimal | None
) -> None:
    postings_ = closing_lines(lines)
    if nudge is not None:  # unbalance the last line, keeping it a valid non-zero amount
        asset, last = postings_[-1]
        nudged = exact_sum([last, nudge])
        if nudged == 0:
            return
        postings_[-1] = (asset, nudged)
    engine = make_engine(sqlite_url)
    try:
        assert balance_check_accepts(engine, postings_) is (nudge is None)
    finally:
        engine.dispose()
