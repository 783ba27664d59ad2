"""The canonical audit body: orjson writes exactly the standard encoder's text, and refuses
what it refused, with the same error."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.audit.body import canonical_body, standard_body


class _Side(enum.StrEnum):
    BUY = "BUY"


class _Reason(enum.IntEnum):
    OTHER = 99


class _Tag(str):
    """A str subclass, as some libraries hand back."""


_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=45))])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits too: orjson refuses, the standard encoder writes it
    st.text(),  # control characters, U+2028, astral characters, lone surrogates
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=_ZONES),
    st.dates(),
    st.sampled_from([_Side.BUY, _Reason.OTHER, _Tag("131")]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(), _VALUES, max_size=6))
def test_the_body_is_the_standard_encoders_text(fields: dict[str, Any]) -> None:
    assert canonical_body(fields) == standard_body(fields)


@dataclass
class _Row:
    qty: Decimal


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"at": datetime(2026, 1, 5, 12)}, ValueError),  # noqa: DTZ001 - naive on purpose
        ({"row": _Row(Decimal(1))}, TypeError),
        ({"x": object()}, TypeError),
        ({"price": Decimal("NaN")}, ValueError),
    ],
)
def test_what_the_standard_encoder_refused_is_refused_alike(
    fields: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error) as standard:
        standard_body(fields)
    with pytest.raises(error) as ours:
        canonical_body(fields)
    assert str(ours.value) == str(standard.value)


def test_a_booking_body_is_unchanged() -> None:
    fields = {
        "qty": Decimal("0.00012345"),
        "price": Decimal("61234.560"),
        "settl_date": date(2026, 1, 6),
        "executed_at": datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC),
        "side": _Side.BUY,
    }
    assert canonical_body(fields) == (
        '{"executed_at":"2026-01-05T12:00:00.123456+00:00","price":"61234.56",'
        '"qty":"0.00012345","settl_date":"2026-01-06","side":"BUY"}'
    )
