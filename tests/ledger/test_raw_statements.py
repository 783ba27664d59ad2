"""RawStatement: a Core INSERT compiled once and run on the DBAPI cursor, with the columns'
own bind processors and SQLAlchemy's exceptions."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, Integer, String, bindparam, event, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from desk.ledger.column_types import DecimalType
from desk.ledger.database import make_engine
from desk.ledger.models import desk_boots, postings
from desk.ledger.raw_statements import (
    RawStatement,
    execute_raw,
    execute_raw_many,
    execute_raw_many_returning,
    first_row_raw,
)
from tests.fixtures.databases import migrated_sqlite_url
from tests.ledger.factories import T0


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(migrated_sqlite_url(tmp_path / "raw.db"))


def test_returning_gives_the_new_key_and_the_row_is_stored_as_core_would(engine: Engine) -> None:
    stmt = insert(desk_boots).returning(desk_boots.c.id)
    with engine.begin() as conn:
        first = execute_raw(conn, stmt, {"started_at": T0, "hostname": "h", "pid": 1})
        second = execute_raw(conn, stmt, {"started_at": T0, "hostname": "h", "pid": 2})
    with engine.connect() as conn:
        rows = conn.execute(select(desk_boots).order_by(desk_boots.c.id)).all()
    assert second == first + 1
    # Read back through the column types: the time was stored by UtcDateTime's processor.
    assert [(r.id, r.started_at, r.pid) for r in rows] == [(first, T0, 1), (second, T0, 2)]


def test_column_types_still_refuse_float_money_and_naive_times(engine: Engine) -> None:
    stmt = insert(postings)
    row = {"entry_key": "k", "account": "a", "asset": "BTC", "amount": 1.5}
    with engine.begin() as conn, pytest.raises(TypeError):
        execute_raw_many(conn, stmt, [row])
    boot = insert(desk_boots)
    with engine.begin() as conn, pytest.raises(ValueError, match="naive"):
        execute_raw(conn, boot, {"started_at": T0.replace(tzinfo=None), "hostname": "h", "pid": 1})


def test_a_constraint_failure_is_sqlalchemys_integrity_error_and_rolls_back(
    engine: Engine,
) -> None:
    # A posting needs its journal entry (deferred foreign key on SQLite: checked at commit)
    # and a non-zero amount (checked at once).
    zero = {"entry_key": "k", "account": "a", "asset": "BTC", "amount": Decimal(0)}
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        execute_raw_many(conn, insert(postings), [zero])
    assert "amount" in str(caught.value.orig) or "CHECK" in str(caught.value.orig)
    with engine.connect() as conn:
        assert conn.execute(select(postings)).all() == []


def test_parameters_come_in_the_statements_order_through_the_processors() -> None:
    raw = RawStatement(
        insert(postings), make_engine("sqlite://").dialect, ["amount", "asset", "entry_key"]
    )
    assert raw.sql.startswith("INSERT INTO postings (entry_key, asset, amount)")
    # DecimalType stores canonical text on SQLite.
    assert raw.parameters({"entry_key": "k", "asset": "BTC", "amount": Decimal("1.50")}) == (
        "k",
        "BTC",
        "1.5",
    )


def test_a_missing_parameter_or_a_named_paramstyle_is_refused_at_build() -> None:
    sqlite = make_engine("sqlite://").dialect
    with pytest.raises(ValueError, match="positional"):
        RawStatement(insert(postings), postgresql.psycopg.dialect(), ["entry_key"])
    named = insert(postings).values(entry_key=bindparam("key"))
    with pytest.raises(ValueError, match="'key'"):
        RawStatement(named, sqlite, ["asset"])


def test_cursor_listeners_see_raw_statements(engine: Engine) -> None:
    seen: list[tuple[str, tuple[object, ...], bool]] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, params, context, many: seen.append(
            (statement, params, many)
        ),
    )
    with engine.begin() as conn:
        execute_raw(conn, insert(desk_boots), {"started_at": T0, "hostname": "h", "pid": 7})
    [(statement, params, many)] = seen
    assert statement.startswith("INSERT INTO desk_boots")
    assert 7 in params
    assert not many


@pytest.mark.postgres
def test_postgres_runs_the_positional_variant_and_raises_sqlalchemys_errors(
    pg_url: str,
) -> None:
    """psycopg's connection, SQLAlchemy's pyformat dialect: compiled with ``%s`` instead."""
    engine = make_engine(pg_url)
    stmt = insert(desk_boots).returning(desk_boots.c.id)
    try:
        with engine.begin() as conn:
            first = execute_raw(conn, stmt, {"started_at": T0, "hostname": "h", "pid": 1})
        with engine.connect() as conn:
            row = conn.execute(select(desk_boots).where(desk_boots.c.id == first)).one()
        duplicate = {"started_at": T0, "hostname": "h", "pid": 2, "id": first}
        with pytest.raises(IntegrityError), engine.begin() as conn:
            execute_raw(conn, insert(desk_boots), duplicate)
    finally:
        engine.dispose()
    assert (row.started_at, row.hostname, row.pid) == (T0, "h", 1)


def test_first_row_of_a_text_statement_goes_through_the_result_types(engine: Engine) -> None:
    stmt = text("SELECT :amount AS amount, :name AS name WHERE :wanted = 1").bindparams(
        bindparam("amount", type_=DecimalType())
    )
    types = (DecimalType(), String())
    with engine.connect() as conn:
        row = first_row_raw(
            conn, stmt, {"amount": Decimal("1.500"), "name": "x", "wanted": 1}, types
        )
        none = first_row_raw(conn, stmt, {"amount": Decimal(1), "name": "x", "wanted": 0}, types)
    # Stored and read back as DecimalType does: canonical, Decimal, not text.
    assert row == (Decimal("1.5"), "x")
    assert isinstance(row[0], Decimal)
    assert none is None


def test_first_row_refuses_a_row_its_types_do_not_describe(engine: Engine) -> None:
    stmt = text("SELECT 1, 2")
    with engine.connect() as conn, pytest.raises(ValueError, match="2 columns returned, 1 typed"):
        first_row_raw(conn, stmt, {}, (Integer(),))


def _boots(n: int) -> list[dict[str, object]]:
    return [{"started_at": T0, "hostname": "h", "pid": pid} for pid in range(1, n + 1)]


def test_many_returning_gives_each_runs_key_in_order_on_both_backends(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        stmt = insert(desk_boots).returning(desk_boots.c.id)
        with engine.begin() as conn:
            ids = execute_raw_many_returning(conn, stmt, _boots(5))
        with engine.connect() as conn:
            rows = conn.execute(select(desk_boots.c.id, desk_boots.c.pid)).all()
    finally:
        engine.dispose()
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert sorted((r.id, r.pid) for r in rows) == list(zip(ids, range(1, 6), strict=True))
    assert execute_raw_many_returning(None, stmt, []) == []  # type: ignore[arg-type]


def test_many_returning_on_postgresql_sends_every_run_before_reading_a_result(
    pg_url: str, tmp_path: Path
) -> None:
    # libpq's protocol trace: every run's Execute goes out before the server's first answer.
    engine = make_engine(pg_url)
    trace = tmp_path / "libpq.trace"
    try:
        with engine.begin() as conn, trace.open("w") as out:
            pgconn = conn.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
            pgconn.trace(out.fileno())
            try:
                ids = execute_raw_many_returning(
                    conn, insert(desk_boots).returning(desk_boots.c.id), _boots(4)
                )
            finally:
                pgconn.untrace()
    finally:
        engine.dispose()
    messages = [line.split("\t")[3] for line in trace.read_text().splitlines()]
    first_row = messages.index("DataRow")  # the first run's RETURNING
    # Run by run there would be one Execute (two with the transaction's BEGIN) before it.
    assert messages[:first_row].count("Execute") >= 4
    assert len(ids) == 4


def test_many_returning_when_one_run_fails_then_integrity_error_and_nothing_kept(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    zero = {"entry_key": "k", "account": "a", "asset": "BTC", "amount": Decimal(0)}
    boots = insert(desk_boots).returning(desk_boots.c.id)
    refused = insert(postings).returning(postings.c.amount)

    def both() -> None:
        with engine.begin() as conn:
            execute_raw_many_returning(conn, boots, _boots(2))
            execute_raw_many_returning(conn, refused, [zero, zero])

    try:
        with pytest.raises(IntegrityError):
            both()
        with engine.connect() as conn:
            assert conn.execute(select(desk_boots)).all() == []
    finally:
        engine.dispose()
