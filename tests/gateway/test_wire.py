"""gateway.wire: a message's fields read from its wire text, as the gateway decodes them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import quickfix as fix

from desk.domain.side import Side
from gateway import codec
from gateway.wire import SOH, WireFields, header_value

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def quote_request(*groups: dict[int, str], subscription: str | None = None) -> fix.Message:
    message = fix.Message()
    header = message.getHeader()
    header.setField(8, "FIX.4.4")
    header.setField(35, "R")
    header.setField(49, "CLIENT1")
    header.setField(56, "OTCDESK")
    message.setField(131, "R-1")
    if subscription is not None:
        message.setField(263, subscription)
    for fields in groups:
        group = fix.Group(146, 55)
        for tag, value in fields.items():
            group.setField(tag, value)
        message.addGroup(group)
    return message


def test_fields_when_read_then_header_body_and_missing_tags_answer() -> None:
    fields = WireFields(SOH.join(["8=FIX.4.4", "35=D", "49=CLIENT1", "11=C-1", "10=000", ""]))

    assert (fields.get(35), fields.get(49), fields.get(11)) == ("D", "CLIENT1", "C-1")
    assert fields.get(44) is None
    with pytest.raises(KeyError):
        fields.required(44)


def test_fields_when_tag_repeats_then_first_occurrence_is_read() -> None:
    fields = WireFields(SOH.join(["146=2", "55=BTC/USDT", "38=1", "55=ETH/USDT", "38=2", ""]))

    assert (fields.get(146), fields.get(55), fields.get(38)) == ("2", "BTC/USDT", "1")


def test_fields_of_message_then_same_text_as_the_engine_serialises() -> None:
    message = quote_request({55: "BTC/USDT", 38: "0.5"})

    fields = WireFields.of(message)

    assert fields.wire == message.toString()
    assert fields.get(55) == "BTC/USDT"


def test_header_value_of_an_outgoing_message_reads_its_header_fields() -> None:
    message = fix.Message()
    header = message.getHeader()
    for tag, value in ((8, "FIX.4.4"), (35, "S"), (49, "OTCDESK"), (56, "CLIENT1"), (43, "Y")):
        header.setField(tag, value)
    message.setField(131, "R-1")
    message.setField(156, "M")  # a body tag whose text ends like a header tag's
    wire = message.toString()

    assert (header_value(wire, 35), header_value(wire, 43)) == ("S", "Y")
    assert (header_value(wire, 49), header_value(wire, 56)) == ("OTCDESK", "CLIENT1")
    assert header_value(wire, 97) is None


def test_header_value_when_tag_is_missing_or_last_then_none_or_its_value() -> None:
    wire = SOH.join(["8=FIX.4.4", "35=S", "56=CLIENT1", "10=000"])  # no final SOH

    assert header_value(wire, 43) is None
    assert header_value(wire, 10) == "000"
    assert header_value(SOH.join(["8=FIX.4.4", "35=0", "156=X", ""]), 56) is None


def test_decode_quote_request_when_one_group_then_its_fields_are_the_request() -> None:
    message = quote_request({55: "BTC/USDT", 54: "1", 38: "0.5", 537: "0", 1: "ACC-7"})

    request = codec.decode_quote_request(WireFields.of(message), "CLIENT1", NOW)

    assert (request.quote_req_id, request.symbol, request.side) == ("R-1", "BTC/USDT", Side.BUY)
    assert (request.order_qty, request.account, request.indicative) == (
        Decimal("0.5"),
        "ACC-7",
        True,
    )
    assert request.streaming is False


def test_decode_quote_request_when_two_groups_then_refused_with_the_first_for_the_echo() -> None:
    message = quote_request({55: "BTC/USDT", 38: "1"}, {55: "ETH/USDT", 38: "2"})

    with pytest.raises(codec.RfqDecodeError) as caught:
        codec.decode_quote_request(WireFields.of(message), "CLIENT1", NOW)

    assert caught.value.tag == 146
    assert caught.value.request.symbol == "BTC/USDT"


def test_decode_quote_request_when_subscription_asked_then_streaming() -> None:
    message = quote_request({55: "BTC/USDT", 38: "1"}, subscription="1")

    assert codec.decode_quote_request(WireFields.of(message), "CLIENT1", NOW).streaming is True
