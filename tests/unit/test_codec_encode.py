"""Outbound messages made from their text in one call: the fields, their order, the header."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from desk.domain.messages import OrderFilled
from desk.domain.side import Side
from gateway import codec
from gateway.wire import SOH, WireFields
from tests.unit.builders import quote

AT = datetime(2026, 11, 22, 2, 27, 46, 377123, tzinfo=UTC)
QUOTE = quote(
    quote_id="Q1-2",
    quote_req_id="rfq-1",
    account=None,
    qty=Decimal("0.01"),
    bid_px=Decimal("59909.90"),
    offer_px=Decimal("60095.39"),
    valid_until=datetime(2026, 11, 22, 2, 27, 51, 377000, tzinfo=UTC),
    transact_time=AT,
)
FILL = OrderFilled(
    order_id="O1-7",
    exec_id="E1-7",
    cl_ord_id="c-7",
    quote_id="Q1-2",
    account="ACC-1",
    symbol="BTC/USDT",
    side=Side.BUY,
    qty=Decimal("0.01"),
    price=Decimal("60095.39"),
    gross_amount=Decimal("600.9539"),
    currency="USDT",
    settl_date=date(2026, 11, 22),
    transact_time=AT,
    trade_id=7,
)


def _pairs(wire: str) -> list[tuple[str, str]]:
    return [tuple(p.split("=", 1)) for p in wire.split(SOH) if p]  # type: ignore[misc]


def test_a_two_way_quote_carries_every_field_in_tag_order_and_valid_framing() -> None:
    wire = codec.encode_quote(QUOTE).toString()

    before_checksum, _, checksum = wire.rpartition("10=")
    begin, length, body = before_checksum.split(SOH, 2)
    assert begin == "8=FIX.4.4"
    assert length == f"9={len(body)}"
    assert checksum == f"{sum(before_checksum.encode()) % 256:03d}{SOH}"
    assert _pairs(body) == [
        ("35", "S"),
        ("15", "USDT"),
        ("38", "0.01"),
        ("55", "BTC/USDT"),
        ("60", "20261122-02:27:46.377"),
        ("62", "20261122-02:27:51.377"),
        ("117", "Q1-2"),
        ("131", "rfq-1"),
        ("132", "59909.9"),  # fmt: no trailing zeros
        ("133", "60095.39"),
        ("134", "0.01"),
        ("135", "0.01"),
        ("537", "1"),
    ]


def test_a_one_way_quote_leaves_out_the_other_sides_price_and_size() -> None:
    offer_only = replace(QUOTE, side=Side.BUY, bid_px=None, account="ACC-1", indicative=True)

    fields = WireFields(codec.encode_quote(offer_only).toString())

    assert fields.get(132) is None
    assert fields.get(134) is None
    assert (fields.get(133), fields.get(135)) == ("60095.39", "0.01")
    assert (fields.get(54), fields.get(1), fields.get(537)) == ("1", "ACC-1", "0")


def test_a_resent_fill_carries_possresend_in_its_header_and_a_first_fill_does_not() -> None:
    first = codec.encode_fill(FILL)
    again = codec.encode_fill(replace(FILL, resent=True))

    assert not first.getHeader().isSetField(97)
    assert again.getHeader().getField(97) == "Y"
    assert not again.isSetField(97)  # the header, not the body
    fields = WireFields(first.toString())
    assert (fields.get(39), fields.get(150), fields.get(31), fields.get(381)) == (
        "2",
        "F",
        "60095.39",
        "600.9539",
    )


def test_a_value_holding_soh_is_refused_rather_than_framed_into_another_field() -> None:
    with pytest.raises(ValueError, match="tag 131: a value cannot hold SOH"):
        codec.encode_quote(replace(QUOTE, quote_req_id=f"x{SOH}35=A"))


def test_utc_timestamps_are_utc_with_milliseconds_truncated() -> None:
    plus_two = timezone(timedelta(hours=2))

    assert codec.utc_timestamp(datetime(2026, 11, 22, 2, 27, 46, 377999, tzinfo=UTC)) == (
        "20261122-02:27:46.377"
    )
    assert codec.utc_timestamp(datetime(2026, 1, 1, 1, 0, 0, 1000, tzinfo=plus_two)) == (
        "20251231-23:00:00.001"
    )
    assert codec.utc_timestamp(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), millis=False) == (
        "09990102-03:04:05"
    )
