"""The spine: RFQ -> Quote -> NewOrderSingle -> fill, booked and listed by `otc-desk trades`."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.helpers import order, quote
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
