"""PostgreSQL: the entry's balance is checked once at commit, each posting's seal on its own
(0009_journal_checked_once), and together they refuse what the single check refused.

PostgreSQL checks at commit, so unlike SQLite it takes an entry's postings before or after the
entry in its transaction; these are the orders only PostgreSQL accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from desk.ledger.database import make_engine
from desk.ledger.fill_rows import fill_row
from desk.ledger.migrate import downgrade, upgrade
from desk.ledger.models import fills, journal_entries, postings
from tests.ledger.factories import T0
from tests.ledger.test_journal import exchange_event

pytestmark = pytest.mark.postgres

D = Decimal
BALANCED = [("desk:inventory", "BTC", "0.4"), ("venue:sim-a", "BTC", "-0.4")]


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    try:
        yield eng
    finally:
        eng.dispose()


def _fill(conn: Connection, trade_id: str) -> tuple[str, int]:
    event = exchange_event(trade_id)
    fill_id = conn.execute(insert(fills).returning(fills.c.id), fill_row(event, T0)).scalar_one()
    return event.booking_key, int(fill_id)


def _entry(conn: Connection, key: str, fill_id: int) -> None:
    conn.execute(
        insert(journal_entries),
        {"entry_key": key, "fill_id": fill_id, "kind": "EXCHANGE_FILL", "booked_at": T0},
    )


def _postings(conn: Connection, key: str, lines: list[tuple[str, str, str]]) -> None:
    rows = [{"entry_key": key, "account": a, "asset": s, "amount": D(m)} for a, s, m in lines]
    conn.execute(insert(postings), rows)


def _postings_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(postings)).scalar_one())


def test_postings_after_their_entry_in_its_transaction_when_balanced_then_accepted(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        key, fill_id = _fill(conn, "P-1")
        _entry(conn, key, fill_id)
        _postings(conn, key, BALANCED)

    assert _postings_count(engine) == 2


def _unbalanced_after_entry(engine: Engine) -> None:
    with engine.begin() as conn:
        key, fill_id = _fill(conn, "P-2")
        _postings(conn, key, BALANCED)
        _entry(conn, key, fill_id)
        _postings(conn, key, [("desk:inventory", "BTC", "1")])


def test_postings_after_their_entry_when_they_unbalance_it_then_refused_at_commit(
    engine: Engine,
) -> None:
    with pytest.raises(IntegrityError, match="does not balance: BTC 1"):
        _unbalanced_after_entry(engine)

    assert _postings_count(engine) == 0


def _entry_of_other_postings(engine: Engine) -> None:
    with engine.begin() as conn:
        key, fill_id = _fill(conn, "P-3")
        other, other_fill = _fill(conn, "P-4")
        _postings(conn, other, BALANCED)
        _entry(conn, other, other_fill)
        _entry(conn, key, fill_id)


def test_entry_when_its_postings_only_name_other_entries_then_refused(engine: Engine) -> None:
    with pytest.raises(IntegrityError, match="has no postings"):
        _entry_of_other_postings(engine)

    assert _postings_count(engine) == 0


def _entry_and_postings_in_two_savepoints(engine: Engine) -> None:
    with engine.begin() as conn:
        key, fill_id = _fill(conn, "P-5")
        with conn.begin_nested():
            _entry(conn, key, fill_id)
        with conn.begin_nested():
            _postings(conn, key, BALANCED)


def test_postings_written_in_another_savepoint_than_their_entry_then_refused(
    engine: Engine,
) -> None:
    with pytest.raises(IntegrityError, match="sealed"):
        _entry_and_postings_in_two_savepoints(engine)

    assert _postings_count(engine) == 0


def _book(engine: Engine, trade_id: str, lines: list[tuple[str, str, str]]) -> str:
    """Postings first, then the entry, in one transaction; the entry's key."""
    with engine.begin() as conn:
        key, fill_id = _fill(conn, trade_id)
        _postings(conn, key, lines)
        _entry(conn, key, fill_id)
    return key


def _add_postings(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        _postings(conn, key, [("a", "BTC", "1"), ("b", "BTC", "-1")])


def test_downgrade_and_upgrade_again_keep_every_refusal(pg_url: str) -> None:
    for revision in ("0008_keyed_lookups", "head"):
        if revision == "head":
            upgrade(pg_url)
        else:
            downgrade(pg_url, revision)
        eng = make_engine(pg_url)
        try:
            key = _book(eng, f"{revision}-ok", BALANCED)
            with pytest.raises(IntegrityError, match="sealed"):
                _add_postings(eng, key)
            with pytest.raises(IntegrityError, match="does not balance"):
                _book(eng, f"{revision}-bad", [("desk:inventory", "BTC", "1")])
            assert _postings_count(eng) == 2 * (1 + (revision == "head"))
        finally:
            eng.dispose()
