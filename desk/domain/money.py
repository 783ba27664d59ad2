"""Decimal rounding for prices and sizes, always in the desk's favour."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of ``step`` that is <= ``value``."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def round_up(value: Decimal, step: Decimal) -> Decimal:
    """Smallest multiple of ``step`` that is >= ``value``."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def fmt(value: Decimal) -> str:
    """Plain decimal string without exponent or trailing zeros (what goes on the wire)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


MAX_SCALE = 18
MAX_INTEGER_DIGITS = 20


def within_ledger_range(value: Decimal) -> bool:
    """True when ``value`` fits NUMERIC(38,18): at most 18 decimals and 20 integer digits."""
    if not value.is_finite():
        return False
    exponent = value.normalize().as_tuple().exponent
    return (
        isinstance(exponent, int)
        and exponent >= -MAX_SCALE
        and value.adjusted() < MAX_INTEGER_DIGITS
    )
