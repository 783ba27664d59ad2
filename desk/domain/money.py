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
