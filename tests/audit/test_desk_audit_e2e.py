"""A running desk over FIX: RFQ -> quote -> order -> fill leave their audit rows, and a clean
stop writes every queued row."""

from __future__ import annotations

import json

from desk.audit.chain import first_break
from desk.ledger.database import make_engine
from tests.audit.chain_rows import chain
from tests.e2e.helpers import order, quote, rfq
from tests.fixtures.desk import StartDesk

EXTRA_QUOTES = 25


def test_rfq_quote_order_fill_when_desk_stops_then_every_message_is_in_the_chain(
    start_desk: StartDesk,
) -> None:
    desk = start_desk()
    with desk.logged_on("CLIENT1") as client:
        q = quote(client, "BTC/USDT", "0.5")
        cl, fill = order(client, q, side="1", qty="0.5")
        bad_req_id, reject = rfq(client, "DOGE/USDT", "1")
        for _ in range(EXTRA_QUOTES):
            quote(client, "ETH/USDT", "1")
        desk.server.stop()  # straight after the last answer: the queue still holds rows

    engine = make_engine(desk.config.database_url)
    try:
        rows = chain(engine)
    finally:
        engine.dispose()
    assert first_break(rows) is None
    fix_rows = [row.record for row in rows if row.record.kind in ("fix.in", "fix.out")]
    assert len(fix_rows) == 6 + 2 * EXTRA_QUOTES
    assert [
        (r.kind, r.msg_type, r.counterparty, r.quote_req_id, r.quote_id, r.cl_ord_id, r.order_id,
         r.reason)
        for r in fix_rows[:6]
    ] == [
        ("fix.in", "R", "CLIENT1", q[131], None, None, None, None),
        ("fix.out", "S", "CLIENT1", q[131], q[117], None, None, None),
        ("fix.in", "D", "CLIENT1", None, q[117], cl, None, None),
        ("fix.out", "8", "CLIENT1", None, None, cl, fill[37], None),
        ("fix.in", "R", "CLIENT1", bad_req_id, None, None, None, None),
        ("fix.out", "AG", "CLIENT1", bad_req_id, None, None, None, "UNKNOWN_SYMBOL"),
    ]  # fmt: skip
    assert reject[58].startswith("UNKNOWN_SYMBOL: ")
    quote_body = json.loads(fix_rows[1].body)
    assert (quote_body["fields"]["132"], quote_body["fields"]["133"]) == (q[132], q[133])
    assert quote_body["pricing"]["tier"] == "standard"
    assert set(quote_body["pricing"]) >= {"composite_mid", "hedge_bid", "hedge_ask", "margin_bps"}
    fill_body = json.loads(fix_rows[3].body)
    assert (fill_body["fields"]["150"], fill_body["fields"]["31"]) == ("F", fill[31])
    ops = [row.record.msg_type for row in rows if row.record.kind == "ops"]
    assert (ops[0], ops[-1]) == ("desk.start", "desk.stop")
