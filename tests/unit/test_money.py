"""desk.domain.money: rounding to a step, wire formatting, and the ledger's numeric range."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desk.domain.money import fmt, round_down, round_up, within_ledger_range


@pytest.mark.parametrize(
    ("value", "step", "down", "up"),
    [
        ("100.005", "0.01", "100.00", "100.01"),
        ("100.01", "0.01", "100.01", "100.01"),  # already on the step: unchanged
        ("1.666666666", "0.00001", "1.66666", "1.66667"),
        ("-1.005", "0.01", "-1.01", "-1.00"),  # toward -inf / +inf, not toward zero
        ("7", "0.5", "7.0", "7.0"),
        ("7.2", "0.5", "7.0", "7.5"),
        ("0", "0.01", "0", "0"),
    ],
)
def test_round_when_value_given_then_down_floors_and_up_ceils_to_step(
    value: str, step: str, down: str, up: str
) -> None:
    assert round_down(Decimal(value), Decimal(step)) == Decimal(down)
    assert round_up(Decimal(value), Decimal(step)) == Decimal(up)


def test_round_when_result_then_exponent_matches_step() -> None:
    # The result is a clean multiple of the step, not 100.00000000 or 1.0000E+2.
    assert str(round_down(Decimal("100.019"), Decimal("0.01"))) == "100.01"
    assert str(round_up(Decimal("100.011"), Decimal("0.01"))) == "100.02"


@pytest.mark.parametrize("step", ["0", "-0.01"])
def test_round_when_step_not_positive_then_value_error(step: str) -> None:
    with pytest.raises(ValueError, match="step must be positive"):
        round_down(Decimal(1), Decimal(step))
    with pytest.raises(ValueError, match="step must be positive"):
        round_up(Decimal(1), Decimal(step))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1.2300", "1.23"),
        ("1E+2", "100"),
        ("100.00", "100"),
        ("0.000010", "0.00001"),
        ("-0.000", "0"),
        ("-1.50", "-1.5"),
        ("60000", "60000"),
    ],
)
def test_fmt_when_decimal_then_plain_text_without_exponent_or_trailing_zeros(
    value: str, text: str
) -> None:
    assert fmt(Decimal(value)) == text


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "1.000000000000000001",  # 18 decimals
        "99999999999999999999",  # 20 integer digits
        "99999999999999999999.999999999999999999",  # NUMERIC(38,18) at its widest
        "1.500000000000000000000000",  # trailing zeros do not count
        "-5",
    ],
)
def test_within_ledger_range_when_fits_numeric_38_18_then_true(value: str) -> None:
    assert within_ledger_range(Decimal(value)) is True


@pytest.mark.parametrize(
    "value",
    [
        "1.0000000000000000001",  # 19 decimals
        "100000000000000000000",  # 21 integer digits
        "1E+20",
        "100.123456789012345678901234567890",  # 30 decimals
        # 30 decimals again, but close to a short number: normalize() rounds to the context's
        # 28 digits and must not hide the extra places.
        "1.000000000000000000000000000001",
        "100.000000000000000000000000000001",
        "NaN",
        "Infinity",
        "-Infinity",
    ],
)
def test_within_ledger_range_when_too_many_digits_or_not_finite_then_false(value: str) -> None:
    assert within_ledger_range(Decimal(value)) is False
