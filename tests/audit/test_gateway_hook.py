"""The gateway's audit hook: every application message queued (no I/O), with its references."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import quickfix as fix
from sqlalchemy import Engine

from desk.audit.batch_writers import EngineBatches
from desk.audit.write_behind import AuditWriter
from desk.clock import FakeClock
from desk.domain.messages import (
    OrderOutcome,
    OrderRejected,
    OrderRequest,
    QuoteIssued,
    RfqOutcome,
    RfqRejected,
    RfqRequest,
    StatusReport,
    StatusRequest,
)
from desk.domain.rejects import OrderRejectCode, RfqRejectCode, reject_text
from desk.domain.side import Side
from gateway import codec
from gateway.application import DeskApplication
from gateway.fix_audit import FixAudit
from gateway.logon_guard import LogonGuard
from gateway.wire import WireFields
from tests.audit.chain_rows import chain

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SESSION = fix.SessionID("FIX.4.4", "OTCDESK", "CLIENT1")
PRICING = {"composite_mid": "60000", "margin_bps": "5", "tier": "standard"}


class NoMarketDesk:
    """A desk that rejects every RFQ with NO_MARKET."""

    def request_quote(self, request: RfqRequest) -> RfqOutcome:
        return RfqRejected(request, RfqRejectCode.NO_MARKET, "NO_MARKET: no fresh book")

    def rfq_answered(self, request: RfqRequest, outcome: RfqOutcome) -> None:
        """Nothing to log."""

    def place_order(self, order: OrderRequest, reply: Callable[[OrderOutcome], None]) -> None:
        raise NotImplementedError

    def order_status(self, request: StatusRequest) -> StatusReport:
        raise NotImplementedError


def _quote_request() -> fix.Message:
    message = fix.Message()
    message.getHeader().setField(35, "R")
    message.setField(131, "rfq-1")
    group = fix.Group(146, 55)
    group.setField(55, "BTC/USDT")
    group.setField(38, "0.5")
    message.addGroup(group)
    return message


def _quote() -> fix.Message:
    return codec.encode_quote(
        QuoteIssued(
            quote_id="Q-1",
            quote_req_id="rfq-1",
            counterparty="CLIENT1",
            account=None,
            symbol="BTC/USDT",
            currency="USDT",
            side=None,
            qty=Decimal("0.5"),
            bid_px=Decimal("59990"),
            offer_px=Decimal("60010"),
            valid_until=NOW + timedelta(seconds=3),
            transact_time=NOW,
            indicative=False,
        )
    )


def _order_reject() -> fix.Message:
    code = OrderRejectCode.QUOTE_EXPIRED
    return codec.encode_order_reject(
        OrderRejected(
            order_id="O-1",
            exec_id="E-1",
            cl_ord_id="ord-1",
            symbol="BTC/USDT",
            side=Side.BUY,
            qty=Decimal("0.5"),
            price=Decimal("60010"),
            account=None,
            code=code,
            text=reject_text(code, "quote Q-1 expired"),
            transact_time=NOW,
        )
    )


def test_messages_in_and_out_when_passing_the_gateway_then_queued_without_io(
    engine: Engine, io_audit: list[str]
) -> None:
    clock = FakeClock(NOW)
    writer = AuditWriter(EngineBatches(engine))  # not started: only stop() will write
    audit = FixAudit(writer, clock)
    app = DeskApplication(NoMarketDesk(), LogonGuard({}), clock, audit)

    app.fromApp(_quote_request(), SESSION)  # its AG finds no session: logged, not sent
    rfq_reject = codec.encode_rfq_reject(
        NoMarketDesk().request_quote(
            codec.decode_quote_request(WireFields.of(_quote_request()), "CLIENT1", NOW)
        )
    )
    app.toApp(rfq_reject, SESSION)
    with audit.attached(lambda: {"pricing": PRICING}):
        app.toApp(_quote(), SESSION)
    app.toApp(_order_reject(), SESSION)

    assert io_audit == []
    assert writer.pending() == 4
    writer.stop()
    rows = [row.record for row in chain(engine)]
    assert [
        (r.kind, r.msg_type, r.counterparty, r.quote_req_id, r.quote_id, r.cl_ord_id, r.order_id,
         r.reason, r.recorded_at)
        for r in rows
    ] == [
        ("fix.in", "R", "CLIENT1", "rfq-1", None, None, None, None, NOW),
        ("fix.out", "AG", "CLIENT1", "rfq-1", None, None, None, "NO_MARKET", NOW),
        ("fix.out", "S", "CLIENT1", "rfq-1", "Q-1", None, None, None, NOW),
        ("fix.out", "8", "CLIENT1", None, None, "ord-1", "O-1", "QUOTE_EXPIRED", NOW),
    ]  # fmt: skip
    inbound, _, quote, _ = (json.loads(r.body) for r in rows)
    assert inbound == {
        "fields": {"35": "R", "131": "rfq-1", "146": "1", "55": "BTC/USDT", "38": "0.5"}
    }
    assert quote["pricing"] == PRICING
    assert (quote["fields"]["132"], quote["fields"]["133"]) == ("59990", "60010")


def test_fix_record_when_group_repeats_a_tag_then_lists_its_values() -> None:
    from gateway.fix_audit import fix_record

    wire = "8=FIX.4.4\x019=40\x0135=R\x01131=r\x01146=2\x0155=BTC/USDT\x0155=ETH/USDT\x0110=123\x01"

    record = fix_record("fix.in", wire, "CLIENT2", NOW, {})

    assert json.loads(record.body) == {
        "fields": {"35": "R", "131": "r", "146": "2", "55": ["BTC/USDT", "ETH/USDT"]}
    }
    assert (record.msg_type, record.counterparty, record.quote_req_id) == ("R", "CLIENT2", "r")
