"""Column types that keep money exact and time in UTC on both SQLite and PostgreSQL.

* ``DecimalType``: ``NUMERIC(38,18)`` on PostgreSQL. On SQLite a column declared NUMERIC has
  numeric *affinity*: SQLite converts the value to an 8-byte float and keeps ~15 significant
  digits, silently. So on SQLite we store the canonical decimal string in a TEXT column instead.
* ``UtcDateTime``: ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL. SQLite has no datetime type, so
  we store fixed-width ISO-8601 text in UTC with microseconds, which sorts and compares
  correctly as text (``2026-01-05T12:00:00.123456+00:00``).

Both refuse ambiguous input (float, naive datetimes) instead of guessing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, Inexact, InvalidOperation, Rounded, localcontext
from typing import Any

from sqlalchemy import Date, Dialect, Text
from sqlalchemy.dialects.postgresql import NUMERIC, TIMESTAMP
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["PRECISION", "SCALE", "Date", "DecimalType", "UtcDateTime", "canonical_decimal"]

PRECISION = 38
SCALE = 18
_MAX_INTEGER_DIGITS = PRECISION - SCALE


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):  # 'n', 'N', 'F': NaN, sNaN, Infinity
        raise ValueError(f"not a finite decimal: {value}")
    return exponent


def canonical_decimal(value: Decimal) -> Decimal:
    """The value without trailing zeros and without exponent notation (``100``, not ``1E+2``).

    PostgreSQL hands back ``NUMERIC(38,18)`` padded to 18 places; we canonicalise on both
    backends so a value reads back identically whichever database stored it. Works on the
    digit tuple rather than ``normalize()``, which rounds to the context's precision (28
    digits by default, fewer than the 38 a NUMERIC(38,18) holds). Raises ``ValueError`` for
    NaN and infinities.
    """
    sign, digits, _ = value.as_tuple()
    exponent = _exponent(value)
    if not any(digits):
        return Decimal(0)  # also turns -0 and 0E-18 into plain 0
    coefficient = list(digits)
    while exponent < 0 and coefficient[-1] == 0:
        coefficient.pop()
        exponent += 1
    if exponent > 0:
        coefficient.extend([0] * exponent)
        exponent = 0
    return Decimal((sign, tuple(coefficient), exponent))


def _checked_decimal(value: object) -> Decimal:
    # bool is an int subclass, and float is the classic money bug: refuse both loudly.
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int):
        raise TypeError(f"DecimalType needs Decimal or int, got {type(value).__name__}: {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        return _checked_canonical(value)  # refused there; a signalling NaN cannot be hashed
    return _remembered_canonical(value)


def _checked_canonical(value: Decimal | int) -> Decimal:
    dec = Decimal(value)
    canon = canonical_decimal(dec)
    exponent = _exponent(canon)
    # PostgreSQL would silently round extra places and overflow on extra integer digits;
    # refusing both on every backend keeps SQLite and PostgreSQL behaving the same.
    if -exponent > SCALE:
        raise ValueError(f"{dec} has more than {SCALE} decimal places")
    if len(canon.as_tuple().digits) + min(exponent, 0) > _MAX_INTEGER_DIGITS:
        raise ValueError(f"{dec} has more than {_MAX_INTEGER_DIGITS} integer digits")
    return canon


# A booking binds some fifteen amounts, most of them seen before (sizes, prices, fees), and
# canonicalising one walks its digit tuple several times. The result depends only on the
# numeric value (1.10, 1.1 and 1.100 have one canonical form; an int and the equal Decimal
# too), so it is remembered by value. Only finite Decimals and ints get here: bool and float
# are refused before the lookup, since True == 1 and 1.0 == 1 would find an int's entry.
_remembered_canonical = functools.lru_cache(maxsize=4096)(_checked_canonical)


class DecimalType(TypeDecorator[Decimal]):
    """Exact decimal: ``NUMERIC(38,18)`` on PostgreSQL, canonical TEXT on SQLite."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(NUMERIC(PRECISION, SCALE, asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        canon = _checked_decimal(value)
        if dialect.name == "postgresql":
            return canon
        return format(canon, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        try:
            return canonical_decimal(Decimal(value))
        except InvalidOperation as exc:  # pragma: no cover - only if someone wrote junk by hand
            raise ValueError(f"not a decimal in the database: {value!r}") from exc

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


def _checked_utc(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"UtcDateTime needs a datetime, got {type(value).__name__}: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"UtcDateTime refuses naive datetime {value.isoformat()}")
    return value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetime: ``TIMESTAMPTZ`` on PostgreSQL, fixed-width ISO text on SQLite."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TIMESTAMP(timezone=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        utc = _checked_utc(value)
        if dialect.name == "postgresql":
            return utc
        # Always the same width (microseconds even when zero, +00:00) so text order == time order.
        return utc.isoformat(timespec="microseconds")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        if parsed.tzinfo is None:  # pragma: no cover - only if someone wrote naive text by hand
            raise ValueError(f"naive datetime in the database: {value!r}")
        # psycopg returns the session's time zone; the desk only ever speaks UTC.
        return parsed.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime


_SUM_PRECISION = 60


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact, canonical sum of ledger decimals.

    The default context rounds to 28 digits; a sum of NUMERIC(38,18) values needs more, and any
    rounding at all would be a bug, hence the traps.
    """
    with localcontext() as exact:
        exact.prec = _SUM_PRECISION
        exact.traps[Inexact] = exact.traps[Rounded] = True
        return canonical_decimal(sum(values, Decimal(0)))


def sqlite_decimal_add(left: str, right: str) -> str:
    """``desk_decimal_add`` on SQLite: the exact sum of two stored decimals, stored the same way
    (canonical text, as ``DecimalType`` writes it)."""
    return format(exact_sum((Decimal(left), Decimal(right))), "f")
