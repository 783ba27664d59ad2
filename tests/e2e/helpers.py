"""Small FIX message builders shared by the end-to-end tests (counterparty side)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from tests.fixclient import FixClient, FixMessage, utc_timestamp

_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def rfq(
    client: FixClient,
    symbol: str = "BTC/USDT",
    qty: str | None = "0.5",
    *,
    side: str | None = None,
    cash: str | None = None,
    quote_type: str | None = None,
    account: str | None = None,
    quote_req_id: str | None = None,
    extra_body: list[tuple[int, str]] | None = None,
) -> tuple[str, FixMessage]:
    """Send a QuoteRequest and return (QuoteReqID, the desk's answer)."""
    req_id = quote_req_id or next_id("rfq")
    group: list[tuple[int, str]] = [(55, symbol)]
    if side is not None:
        group.append((54, side))
    if qty is not None:
        group.append((38, qty))
    if cash is not None:
        group.append((152, cash))
    if quote_type is not None:
        group.append((537, quote_type))
    if account is not None:
        group.append((1, account))
    client.send("R", [(131, req_id), *(extra_body or []), (146, "1"), *group])
    answer = client.recv()
    assert answer.msg_type in ("S", "AG"), f"unexpected answer {answer}"
    assert answer[131] == req_id
    return req_id, answer


def quote(
    client: FixClient, symbol: str = "BTC/USDT", qty: str | None = "0.5", **kw: str
) -> FixMessage:
    """A QuoteRequest that must be answered with a Quote."""
    _, answer = rfq(client, symbol, qty, **kw)
    assert answer.msg_type == "S", f"expected a Quote, got {answer}"
    return answer


def order(
    client: FixClient,
    q: FixMessage,
    side: str = "1",
    *,
    qty: str | None = None,
    price: str | None = None,
    symbol: str | None = None,
    cl_ord_id: str | None = None,
    ord_type: str = "D",
    tif: str | None = None,
    quote_id: str | None = None,
    poss_resend: bool = False,
) -> tuple[str, FixMessage]:
    """Send a NewOrderSingle on quote ``q`` and return (ClOrdID, the ExecutionReport)."""
    cl = cl_ord_id or next_id("ord")
    px = price if price is not None else (q[133] if side == "1" else q[132])
    fields: list[tuple[int, str]] = [
        (11, cl),
        (117, quote_id or q[117]),
        (55, symbol or q[55]),
        (54, side),
        (60, utc_timestamp()),
        (38, qty or q[38]),
        (40, ord_type),
        (44, px),
    ]
    if tif is not None:
        fields.append((59, tif))
    client.send("D", fields, poss_resend=poss_resend)
    report = client.expect("8")
    assert report[11] == cl
    return cl, report


def mid_of(q: FixMessage) -> Decimal:
    return (Decimal(q[132]) + Decimal(q[133])) / 2
