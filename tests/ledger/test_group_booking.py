"""Ledger.book_fills on SQLite and PostgreSQL: several bookings, one transaction, one commit;
a failure costs only the booking that caused it, and nothing is ever written twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import IntegrityError
from structlog.testing import capture_logs

from desk.audit.chain import first_break
from desk.audit.store import read_chain, sql_first_break
from desk.ledger.fill_rows import client_fill_audit_row
from desk.ledger.records import DuplicateClOrdID, NotBooked, OrderRecord, OrderStatus
from desk.ledger.repository import Ledger
from tests.ledger.factories import booking, row_counts


@pytest.fixture
def commits(ledger: Ledger) -> Iterator[list[int]]:
    """One entry per transaction the ledger's engine commits (explicit transactions only:
    a single statement in autocommit mode is its own commit and is not counted)."""
    seen: list[int] = []

    def on_commit(_conn: Any) -> None:
        seen.append(1)

    event.listen(ledger.engine, "commit", on_commit)
    yield seen
    event.remove(ledger.engine, "commit", on_commit)


def _records(results: list[OrderRecord | Exception]) -> list[OrderRecord]:
    assert all(isinstance(r, OrderRecord) for r in results), results
    return [r for r in results if isinstance(r, OrderRecord)]


def _transactions_of_orders(engine: Engine) -> int:
    """How many PostgreSQL transactions wrote the orders table (rows of one share an xmin)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(DISTINCT xmin::text) FROM orders")).scalar_one())


def test_book_fills_books_every_booking_in_one_commit(ledger: Ledger, commits: list[int]) -> None:
    bookings = [booking(cl_ord_id=f"G-{n}") for n in range(5)]

    records = _records(ledger.book_fills(bookings))

    assert len(commits) == 1
    assert [r.cl_ord_id for r in records] == [b.cl_ord_id for b in bookings]
    assert len({r.trade_id for r in records}) == 5
    for record in records:
        assert record.status is OrderStatus.FILLED
        assert ledger.find_order("ACME", record.cl_ord_id) == record
    assert row_counts(ledger.engine) == {"orders": 5, "trades": 5, "hedge_intents": 5, "fills": 5}
    if ledger.engine.dialect.name == "postgresql":
        assert _transactions_of_orders(ledger.engine) == 1


def test_book_fills_gives_what_book_fill_gives(ledger: Ledger) -> None:
    alone = ledger.book_fill(booking(cl_ord_id="S-1"))
    [grouped, _] = _records(ledger.book_fills([booking(cl_ord_id="S-2"), booking()]))

    def terms(record: OrderRecord) -> dict[str, Any]:
        return {
            k: v
            for k, v in asdict(record).items()
            if k not in ("cl_ord_id", "order_id", "exec_id", "quote_id", "quote_req_id", "trade_id")
        }

    assert terms(grouped) == terms(alone)
    assert grouped == ledger.find_order("ACME", "S-2")


def test_book_fills_when_a_cl_ord_id_was_used_then_only_that_booking_is_refused(
    ledger: Ledger,
) -> None:
    original = ledger.book_fill(booking(cl_ord_id="U-1"))
    reused = booking(cl_ord_id="U-1")  # same terms, fresh desk ids: a second order

    with capture_logs() as logs:
        first, refused, last = ledger.book_fills(
            [booking(cl_ord_id="U-2"), reused, booking(cl_ord_id="U-3")]
        )

    assert isinstance(first, OrderRecord)
    assert first.cl_ord_id == "U-2"
    assert isinstance(last, OrderRecord)
    assert last.cl_ord_id == "U-3"
    assert isinstance(refused, DuplicateClOrdID)
    assert refused.existing == original
    assert row_counts(ledger.engine)["orders"] == 3
    [retried] = [e for e in logs if e["event"] == "ledger.booking.group_retried"]
    assert retried["bookings"] == 3
    assert retried["error"] == "IntegrityError"


def test_book_fills_when_one_cl_ord_id_twice_in_a_group_then_the_first_is_booked(
    ledger: Ledger,
) -> None:
    first = booking(cl_ord_id="T-1")
    second = booking(cl_ord_id="T-1")

    booked, refused = ledger.book_fills([first, second])

    assert isinstance(booked, OrderRecord)
    assert booked.exec_id == first.exec_id
    assert isinstance(refused, DuplicateClOrdID)
    assert refused.existing == booked
    assert row_counts(ledger.engine)["trades"] == 1


def test_book_fills_when_a_booking_is_already_in_the_ledger_then_its_record_not_a_refusal(
    ledger: Ledger,
) -> None:
    # What a retry finds when the shared transaction committed although its COMMIT failed on
    # the way back: the very same booking (same exec id) in the ledger. It was booked.
    landed = booking(cl_ord_id="L-1")
    original = ledger.book_fill(landed)

    again, other = ledger.book_fills([landed, booking(cl_ord_id="L-2")])

    assert again == original
    assert isinstance(other, OrderRecord)
    assert other.cl_ord_id == "L-2"
    assert row_counts(ledger.engine)["trades"] == 2


def test_book_fills_when_a_constraint_fails_then_the_error_is_that_bookings_alone(
    ledger: Ledger,
) -> None:
    taken = ledger.book_fill(booking(cl_ord_id="C-1"))
    clash = booking(cl_ord_id="C-2", exec_id=taken.exec_id)  # exec ids are unique

    good, bad = ledger.book_fills([booking(cl_ord_id="C-3"), clash])

    assert isinstance(good, OrderRecord)
    assert isinstance(bad, NotBooked)
    assert isinstance(bad.cause, IntegrityError)
    assert ledger.find_order("ACME", "C-2") is None
    assert row_counts(ledger.engine)["orders"] == 2


def test_book_fills_of_one_booking_is_book_fill(ledger: Ledger, commits: list[int]) -> None:
    one = booking(cl_ord_id="O-1")

    [record] = ledger.book_fills([one])

    assert record == ledger.find_order("ACME", "O-1")
    [refused] = ledger.book_fills([replace(one, exec_id="1-E-other", order_id="1-O-other")])
    assert isinstance(refused, DuplicateClOrdID)
    # PostgreSQL books a single fill as one statement in autocommit mode (no explicit commit).
    assert len(commits) == (0 if ledger.engine.dialect.name == "postgresql" else 1)


class LostConnection(Ledger):
    """The database fails under every booking's writes (reads still work); counts tries."""

    tries = 0

    def _write_fills(self, conn: Connection, prepared: Any) -> list[int]:
        self.tries += 1
        raise ConnectionError("server closed the connection unexpectedly")

    def _write_fill(self, conn: Connection, prepared: Any) -> int:
        self.tries += 1
        raise ConnectionError("server closed the connection unexpectedly")


def test_book_fills_when_the_database_fails_then_no_retry_and_the_outcome_stays_unknown(
    ledger: Ledger,
) -> None:
    failing = LostConnection(ledger.engine)

    with capture_logs() as logs:
        results = failing.book_fills([booking(cl_ord_id=f"D-{n}") for n in range(4)])

    assert failing.tries == 1  # one group, never each booking again
    assert all(isinstance(r, ConnectionError) for r in results)
    assert not any(isinstance(r, NotBooked) for r in results)
    [event] = [e for e in logs if e["event"] == "ledger.booking.group_failed"]
    assert event["log_level"] == "error"
    assert row_counts(ledger.engine)["orders"] == 0


def test_book_fills_when_the_database_fails_then_a_booking_found_with_its_exec_id_is_booked(
    ledger: Ledger,
) -> None:
    # What a lost reply to a COMMIT that landed looks like afterwards.
    landed = booking(cl_ord_id="D-10")
    original = ledger.book_fill(landed)

    found, unknown = LostConnection(ledger.engine).book_fills([landed, booking(cl_ord_id="D-11")])

    assert found == original
    assert isinstance(unknown, ConnectionError)


def test_book_fills_when_a_booking_has_a_value_no_column_takes_then_only_it_is_refused(
    ledger: Ledger,
) -> None:
    bad = replace(booking(cl_ord_id="V-1"), qty=0.5)  # type: ignore[arg-type] # float money

    good, refused = ledger.book_fills([booking(cl_ord_id="V-2"), bad])

    assert isinstance(good, OrderRecord)
    assert isinstance(refused, NotBooked)
    assert isinstance(refused.cause, TypeError)
    assert ledger.find_order("ACME", "V-1") is None


def test_book_fills_writes_each_bookings_client_fill_record_in_order_on_an_intact_chain(
    ledger: Ledger,
) -> None:
    ledger.book_fill(booking(cl_ord_id="A-0"))  # a record before the group's
    bookings = [booking(cl_ord_id=f"A-{n}") for n in range(1, 5)]

    _records(ledger.book_fills(bookings))

    with ledger.engine.connect() as conn:
        rows = list(read_chain(conn))
        database_says = sql_first_break(conn)
    assert [r.record.cl_ord_id for r in rows] == ["A-0", "A-1", "A-2", "A-3", "A-4"]
    for row, made in zip(rows[1:], bookings, strict=True):
        assert row.record.as_row() == client_fill_audit_row(made)
    assert first_break(rows) is None
    assert database_says is None
