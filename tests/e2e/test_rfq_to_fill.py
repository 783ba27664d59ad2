"""The spine: RFQ -> Quote -> NewOrderSingle -> fill, booked and listed by `otc-desk trades`."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.helpers import order, quote
from tests.fixclient import utc_timestamp
from tests.fixtures.desk import StartDesk

OTC_DESK = str(Path(sys.executable).with_name("otc-desk"))


def _parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d-%H:%M:%S.%f").replace(tzinfo=UTC)


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_rfq_quote_order_fill_then_trade_log_lists_it(
    start_desk: StartDesk, db: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url") if db == "postgresql" else None
    desk = start_desk(database_url=url)
    with desk.logged_on("CLIENT1") as client:
        q = quote(client, "BTC/USDT", "0.5", account="ACC-7")
        bid, offer = Decimal(q[132]), Decimal(q[133])
        assert bid < offer
        assert q[134] == q[135] == q[38] == "0.5"
        assert q[537] == "1"
        assert q[1] == "ACC-7"
        assert bid == bid.quantize(Decimal("0.01"))
        assert offer == offer.quantize(Decimal("0.01"))
        valid_until = _parse_ts(q[62])
        assert timedelta(seconds=2) < valid_until - _parse_ts(q[60]) <= timedelta(seconds=3)
        assert len(q[62].split(".")[1]) == 3  # millisecond precision

        cl, fill = order(client, q, side="1", qty="0.5")
        assert fill[150] == "F"
        assert fill[39] == "2"
        assert fill[55] == "BTC/USDT"
        assert fill[54] == "1"
        assert Decimal(fill[32]) == Decimal("0.5") == Decimal(fill[14]) == Decimal(fill[38])
        assert Decimal(fill[31]) == offer == Decimal(fill[6])
        assert fill[151] == "0"
        assert Decimal(fill[381]) == offer * Decimal("0.5")
        assert fill[15] == "USDT"
        assert len(fill[64]) == 8
        assert fill[60]
        assert fill[37]
        assert fill[17]
        assert fill.get(1) == "ACC-7"

    done = subprocess.run(  # noqa: S603 - our own CLI with test arguments
        [OTC_DESK, "--config", str(desk.config_path), "trades", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    assert lines[0] == (
        "trade_id,executed_at,counterparty,symbol,side,qty,price,notional,quote_id,cl_ord_id,exec_id"
    )
    assert len(lines) == 2
    cells = lines[1].split(",")
    assert cells[2:6] == ["CLIENT1", "BTC/USDT", "BUY", "0.5"]
    assert Decimal(cells[6]) == offer
    assert Decimal(cells[7]) == offer * Decimal("0.5")
    assert cells[8:] == [q[117], cl, fill[17]]
    # Stopped here, while its database exists: pg_url was asked for after start_desk, so its
    # teardown (dropping the database) comes first.
    desk.server.stop()


def test_client_sell_fills_at_the_bid_and_two_way_when_no_side(start_desk: StartDesk) -> None:
    desk = start_desk()
    with desk.logged_on("CLIENT2") as client:
        one_way = quote(client, "ETH/USDT", "3", side="2")
        assert one_way[54] == "2"
        assert 132 in one_way
        assert 133 not in one_way
        _, fill = order(client, one_way, side="2")
        assert fill[150] == "F"
        assert Decimal(fill[31]) == Decimal(one_way[132])

        buy_only = quote(client, "ETH/USDT", "3", side="1")
        assert 133 in buy_only
        assert 132 not in buy_only
        assert 134 not in buy_only


def test_cash_order_qty_is_converted_at_fair_value_and_rounded_to_the_lot(
    start_desk: StartDesk,
) -> None:
    desk = start_desk()
    with desk.logged_on() as client:
        q = quote(client, "BTC/USDT", None, cash="10000")
        qty = Decimal(q[38])
        mid = (Decimal(q[132]) + Decimal(q[133])) / 2
        assert qty == qty.quantize(Decimal("0.00001"))
        assert qty * mid <= Decimal("10000") * Decimal("1.001")
        assert qty * mid >= Decimal("10000") * Decimal("0.99")


def test_indicative_quote_is_marked_and_larger_size_costs_more(start_desk: StartDesk) -> None:
    desk = start_desk()
    with desk.logged_on() as client:
        ind = quote(client, "BTC/USDT", "0.5", quote_type="0")
        assert ind[537] == "0"
        small = quote(client, "BTC/USDT", "0.01")
        big = quote(client, "BTC/USDT", "20")
        assert Decimal(big[133]) > Decimal(small[133])
        assert Decimal(big[132]) < Decimal(small[132])


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_orders_sent_back_to_back_on_one_session_are_each_booked_once_and_reported(
    start_desk: StartDesk, db: str, request: pytest.FixtureRequest
) -> None:
    # Orders that queue behind one another are booked together (one transaction for the
    # group); a reused ClOrdID among them must still cost only itself.
    url = request.getfixturevalue("pg_url") if db == "postgresql" else None
    desk = start_desk(database_url=url)
    assert desk.server.core is not None
    ledger = desk.server.core.ledger
    with desk.logged_on("CLIENT1") as client:
        quotes = [quote(client, "BTC/USDT", "0.01") for _ in range(12)]
        sent: list[str] = []
        for n, q in enumerate(quotes):
            cl = f"burst-{db}-{n if n != 11 else 4}"  # the last reuses the fifth's ClOrdID
            sent.append(cl)
            client.send(
                "D",
                [(11, cl), (117, q[117]), (55, "BTC/USDT"), (54, "1"), (60, utc_timestamp()),
                 (38, "0.01"), (40, "D"), (44, q[133])],
            )  # fmt: skip
        reports = [client.expect("8") for _ in sent]

        fills = [r for r in reports if r[150] == "F"]
        [refused] = [r for r in reports if r[150] == "8"]
        assert len(fills) == 11
        assert sorted(r[11] for r in fills) == sorted(set(sent))
        assert refused[11] == sent[4]
        assert refused[58].startswith("DUPLICATE_CLORDID: ")
        assert len({r[17] for r in fills}) == 11
        for report in fills:
            record = ledger.find_order("CLIENT1", report[11])
            assert record is not None
            assert (record.exec_id, record.order_id) == (report[17], report[37])
        # The quote of the refused order was given back: it can still be executed.
        _, late = order(client, quotes[11], qty="0.01", cl_ord_id=f"burst-{db}-late")
        assert late[150] == "F"
    assert len(ledger.trade_log()) == 12
    desk.server.stop()
