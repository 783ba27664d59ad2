"""DecimalType and UtcDateTime: exact money, aware UTC time, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from desk.ledger.column_types import DecimalType, UtcDateTime, canonical_decimal
from desk.ledger.database import make_engine

DIALECTS = [sqlite.dialect(), postgresql.dialect()]
probe_metadata = MetaData()
probe = Table(
    "type_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", DecimalType()),
    Column("at", UtcDateTime()),
)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test database with a scratch table for the column types."""
    eng = make_engine(db_url)
    probe_metadata.create_all(eng)
    yield eng
    eng.dispose()


def roundtrip(engine: Engine, **values: object) -> tuple[Decimal | None, datetime | None]:
    with engine.begin() as conn:
        conn.execute(probe.delete())
        conn.execute(insert(probe).values(id=1, **values))
        row = conn.execute(select(probe.c.amount, probe.c.at)).one()
    return row.amount, row.at


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_decimal_refuses_float_and_bool(dialect: object) -> None:
    with pytest.raises(TypeError, match="float"):
        DecimalType().process_bind_param(0.1, dialect)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bool"):
        DecimalType().process_bind_param(True, dialect)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str"):
        DecimalType().process_bind_param("1.5", dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "1E-19", "123456789012345678901", "0.0000000000000000001"]
)
def test_decimal_refuses_what_numeric_38_18_cannot_hold_exactly(value: str) -> None:
    with pytest.raises(ValueError, match=r"decimal|places|digits"):
        DecimalType().process_bind_param(Decimal(value), sqlite.dialect())


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_decimal_bound_again_after_an_equal_value_then_refused_or_canonical_as_before(
    dialect: object,
) -> None:
    bind = DecimalType().process_bind_param
    # Equal ints and Decimals were bound first: an equal bool or float is still refused.
    assert str(bind(1, dialect)) == str(bind(Decimal("1.000"), dialect)) == "1"  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bool"):
        bind(True, dialect)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        bind(1.0, dialect)  # type: ignore[arg-type]
    # Another spelling of a value seen before binds the same canonical form.
    assert str(bind(Decimal("60012.3400"), dialect)) == "60012.34"  # type: ignore[arg-type]
    assert str(bind(Decimal("6.001234E+4"), dialect)) == "60012.34"  # type: ignore[arg-type]
    assert str(bind(Decimal("-0.00"), dialect)) == "0"  # type: ignore[arg-type]
    # Refusals are not remembered as answers: the second try is refused too.
    for value in ("1E-19", "1E-19", "sNaN", "sNaN", "-Infinity"):
        with pytest.raises(ValueError, match=r"decimal|places"):
            bind(Decimal(value), dialect)  # type: ignore[arg-type]


def test_canonical_decimal_is_plain_and_exact() -> None:
    assert str(canonical_decimal(Decimal("1E+2"))) == "100"
    assert str(canonical_decimal(Decimal("61234.560000000000000000"))) == "61234.56"
    assert str(canonical_decimal(Decimal("-0.000"))) == "0"
    big = "99999999999999999999.999999999999999999"  # 38 digits: more than the default context
    assert str(canonical_decimal(Decimal(big))) == big


def test_decimal_is_stored_as_exact_text_on_sqlite(sqlite_url: str) -> None:
    eng = make_engine(sqlite_url)
    try:
        probe_metadata.create_all(eng)
        roundtrip(eng, amount=Decimal("0.000123450"))
        with eng.connect() as conn:
            raw = conn.execute(text("SELECT amount, typeof(amount) FROM type_probe")).one()
    finally:
        eng.dispose()
    assert tuple(raw) == ("0.00012345", "text")


def test_decimal_refuses_float_through_the_database(engine: Engine) -> None:
    with pytest.raises(StatementError) as caught:
        roundtrip(engine, amount=1.1)
    assert isinstance(caught.value.orig, TypeError)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.decimals(
        min_value=Decimal("-99999999999999999999.999999999999999999"),
        max_value=Decimal("99999999999999999999.999999999999999999"),
        places=18,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_decimal_roundtrips_every_digit(engine: Engine, value: Decimal) -> None:
    amount, _ = roundtrip(engine, amount=value)
    assert amount == value
    assert str(amount) == str(canonical_decimal(value))


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_datetime_refuses_naive(dialect: object) -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 5, 12), dialect)  # type: ignore[arg-type]  # noqa: DTZ001
    with pytest.raises(TypeError):
        UtcDateTime().process_bind_param("2026-01-05T12:00:00+00:00", dialect)  # type: ignore[arg-type]


def test_datetime_roundtrips_microseconds_as_aware_utc(engine: Engine) -> None:
    stamp = datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC)
    _, at = roundtrip(engine, at=stamp)
    assert at == stamp
    assert at is not None
    assert at.tzinfo is UTC
    assert at.microsecond == 123456

    new_york = stamp.astimezone(timezone(timedelta(hours=-5)))
    _, at = roundtrip(engine, at=new_york)
    assert at == stamp
    assert at is not None
    assert (at.hour, at.tzinfo) == (12, UTC)


def test_datetime_is_fixed_width_sortable_text_on_sqlite(sqlite_url: str) -> None:
    eng = make_engine(sqlite_url)
    try:
        probe_metadata.create_all(eng)
        roundtrip(eng, at=datetime(2026, 1, 5, 12, tzinfo=timezone(timedelta(hours=1))))
        with eng.connect() as conn:
            raw = conn.execute(text("SELECT at FROM type_probe")).scalar_one()
    finally:
        eng.dispose()
    assert raw == "2026-01-05T11:00:00.000000+00:00"
