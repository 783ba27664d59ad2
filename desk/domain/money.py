"""Decimal rounding for prices and sizes, always in the desk's favour."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

_WIDE = Context(prec=100)


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
    # A wide context: normalize() must not round a long client-supplied number.
    text = format(value.normalize(_WIDE), "f")
    return text if text != "-0" else "0"


MAX_SCALE = 18
MAX_INTEGER_DIGITS = 20


def within_ledger_range(value: Decimal) -> bool:
    """True when ``value`` fits NUMERIC(38,18): at most 18 decimals and 20 integer digits.

    Works on the digits themselves: ``normalize()`` would round to the context's precision
    and let a 30-decimal number pass as a short one.
    """
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity
        return False
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0 and exponent < 0:
        significant -= 1
        exponent += 1
    return -exponent <= MAX_SCALE and value.adjusted() < MAX_INTEGER_DIGITS
