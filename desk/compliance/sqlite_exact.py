"""Exact decimal arithmetic for the compliance queries on SQLite.

SQLite keeps the ledger's decimals as canonical TEXT (see desk.ledger.column_types); its own
``sum()`` would add them up as floats, and ``<`` would compare them as text. A compliance
query run by the desk gets, on its SQLite connection:

* ``sum(x)``: an exact decimal sum that replaces the built-in one (application functions
  take precedence over SQLite's). Integers add up to an integer, decimal text to canonical
  decimal text; a float is refused, since it means a value was already rounded.
* ``compliance_ratio(numerator, denominator)``: the twin of the PostgreSQL function that
  migration 0005_compliance creates: round(numerator / denominator, 4), half away from zero,
  NULL when the denominator is 0 or NULL.
* the collation ``decimal``: compares two decimal texts by value (``sql_file`` attaches it to
  numeric parameters).
"""

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from desk.ledger.column_types import canonical_decimal, exact_sum

__all__ = ["register_exact_functions"]

_RATIO_PLACES = Decimal("0.0001")


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str):
        # float: SQLite arithmetic already rounded it; anything else is not a ledger number.
        raise TypeError(f"not an exact decimal: {value!r}")
    return Decimal(value)


class ExactSum:
    """The ``sum()`` aggregate over integers and decimal text, without rounding."""

    def __init__(self) -> None:
        self._values: list[Decimal] = []
        self._integers = True

    def step(self, value: object) -> None:
        """Add one value; NULLs are skipped, as by SQL's sum."""
        if value is None:
            return
        self._integers = self._integers and isinstance(value, int)
        self._values.append(_decimal(value))

    # Any, not int | str | None: typeshed's aggregate protocol wants finalize() to return int.
    def finalize(self) -> Any:
        """NULL over no values, as SQL's sum; else the exact total (int or decimal text)."""
        if not self._values:
            return None
        total = exact_sum(self._values)
        return int(total) if self._integers else format(total, "f")


def compliance_ratio(numerator: object, denominator: object) -> str | None:
    """round(numerator / denominator, 4) as decimal text; NULL for a 0 or NULL denominator."""
    if numerator is None or denominator is None:
        return None
    bottom = _decimal(denominator)
    if bottom == 0:
        return None
    with localcontext() as wide:
        wide.prec = 60
        ratio = (_decimal(numerator) / bottom).quantize(_RATIO_PLACES, rounding=ROUND_HALF_UP)
    return format(canonical_decimal(ratio), "f")


def compare_decimals(left: str, right: str) -> int:
    """The ``decimal`` collation: -1, 0 or 1 as ``left`` is below, equal to or above ``right``."""
    a, b = Decimal(left), Decimal(right)
    return (a > b) - (a < b)


def register_exact_functions(connection: sqlite3.Connection) -> None:
    """Give a SQLite connection the exact ``sum``, ``compliance_ratio`` and ``decimal``."""
    connection.create_aggregate("sum", 1, ExactSum)
    connection.create_function("compliance_ratio", 2, compliance_ratio, deterministic=True)
    connection.create_collation("decimal", compare_decimals)
