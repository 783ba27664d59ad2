"""Upgrading a ledger that already holds data, on SQLite and PostgreSQL: nothing is lost or
changed, and the journal is backfilled, balanced, from what was booked before it existed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, select, text

from desk.ledger.column_types import exact_sum
from desk.ledger.database import make_engine
from desk.ledger.migrate import current_revision, head_revision, sql_dir, upgrade
from desk.ledger.models import fills, journal_entries, postings, settlement_obligations
from desk.ledger.repository import Ledger
from tests.ledger.factories import T0

D = Decimal
FOUNDATION_TABLES = ("orders", "trades", "hedge_intents")

# Rows as a 0001-era desk wrote them (decimals as canonical text, which PostgreSQL casts).
FOUNDATION_ROWS = """
INSERT INTO desk_boots (started_at, hostname, pid)
VALUES ('2026-01-05T11:00:00.000000+00:00', 'h', 7);
INSERT INTO orders (counterparty, account, cl_ord_id, order_id, exec_id, quote_id, quote_req_id,
    symbol, side, qty, price, status, reject_code, reject_text, created_at, client_transact_time)
VALUES
 ('ACME', 'A-1', 'C-1', '1-O1', '1-E1', '1-Q1', 'R1', 'BTC/USD', 'BUY', '0.5', '60000.25',
  'FILLED', NULL, NULL, '2026-01-05T12:00:00.123456+00:00', '2026-01-05T12:00:00.100000+00:00'),
 ('GLOBEX', NULL, 'C-9', '1-O2', '1-E2', '1-Q2', 'R2', 'ETH/USD', 'SELL', '3', '2999.5',
  'FILLED', NULL, NULL, '2026-01-05T12:00:01.000000+00:00', NULL),
 ('ACME', NULL, 'C-2', '1-O3', '1-E3', '1-Q3', NULL, 'BTC/USD', 'SELL', '1', '1',
  'REJECTED', 'QUOTE_EXPIRED', 'quote expired', '2026-01-05T12:00:02.000000+00:00', NULL);
INSERT INTO trades (order_id, counterparty, account, symbol, side, qty, price, notional,
    currency, quote_id, quote_req_id, cl_ord_id, exec_id, executed_at, settl_date)
VALUES
 ('1-O1', 'ACME', 'A-1', 'BTC/USD', 'BUY', '0.5', '60000.25', '30000.125', 'USD', '1-Q1', 'R1',
  'C-1', '1-E1', '2026-01-05T12:00:00.123456+00:00', '2026-01-06'),
 ('1-O2', 'GLOBEX', NULL, 'ETH/USD', 'SELL', '3', '2999.5', '8998.5', 'USD', '1-Q2', 'R2',
  'C-9', '1-E2', '2026-01-05T12:00:01.000000+00:00', '2026-01-07');
INSERT INTO hedge_intents (trade_id, symbol, side, qty, status, created_at, updated_at)
VALUES
 (1, 'BTC/USD', 'BUY', '0.5', 'DONE', '2026-01-05T12:00:00.123456+00:00',
  '2026-01-05T12:00:05.000000+00:00'),
 (2, 'ETH/USD', 'SELL', '3', 'PENDING', '2026-01-05T12:00:01.000000+00:00',
  '2026-01-05T12:00:01.000000+00:00');
"""

# A 0002-era desk also booked canonical fills: one client trade's and one exchange fill.
HEDGING_ROWS = """
INSERT INTO fills (fill_key, source, venue, counterparty, symbol, base, quote, side, qty, price,
    fee, fee_currency, executed_at, booked_at, trade_id, client_order_id, settl_date)
VALUES
 ('client:ACME:C-1', 'CLIENT', NULL, 'ACME', 'BTC/USD', 'BTC', 'USD', 'SELL', '0.5', '60000.25',
  '0', 'USD', '2026-01-05T12:00:00.123456+00:00', '2026-01-05T12:00:00.123456+00:00', 1, NULL,
  '2026-01-06'),
 ('exchange:sim-a:77', 'EXCHANGE', 'sim-a', NULL, 'BTC/USD', 'BTC', 'USD', 'BUY', '0.5',
  '59990.1', '0.0005', 'BTC', '2026-01-05T12:00:03.000000+00:00',
  '2026-01-05T12:00:04.000000+00:00', NULL, 'otc-b1-c0-v0', NULL);
"""


def run_script(engine: Engine, script: str) -> None:
    with engine.begin() as conn:
        for statement in filter(str.strip, script.split(";")):
            conn.exec_driver_sql(statement)


def table_rows(engine: Engine, tables: tuple[str, ...]) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))]  # noqa: S608 - fixed names
            for t in tables
        }


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    eng = make_engine(empty_db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def journal(engine: Engine) -> dict[str, list[tuple[str, str, Decimal]]]:
    lines: defaultdict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
    stmt = select(postings.c.entry_key, postings.c.account, postings.c.asset, postings.c.amount)
    with engine.connect() as conn:
        for key, account, asset, amount in conn.execute(stmt.order_by(postings.c.id)):
            lines[key].append((account, asset, amount))
    return dict(lines)


def assert_balanced(lines: dict[str, list[tuple[str, str, Decimal]]]) -> None:
    for entry in lines.values():
        sums: defaultdict[str, list[Decimal]] = defaultdict(list)
        for _, asset, amount in entry:
            sums[asset].append(amount)
        assert {a: exact_sum(v) for a, v in sums.items()} == dict.fromkeys(sums, 0)


CLIENT_C1 = [
    ("desk:inventory", "BTC", D("-0.5")),
    ("counterparty:ACME", "BTC", D("0.5")),
    ("desk:inventory", "USD", D("30000.125")),
    ("counterparty:ACME", "USD", D("-30000.125")),
]
CLIENT_C9 = [
    ("desk:inventory", "ETH", D(3)),
    ("counterparty:GLOBEX", "ETH", D(-3)),
    ("desk:inventory", "USD", D("-8998.5")),
    ("counterparty:GLOBEX", "USD", D("8998.5")),
]
OBLIGATIONS = [
    (1, "ACME", "BTC", D("0.5"), date(2026, 1, 6)),
    (1, "ACME", "USD", D("-30000.125"), date(2026, 1, 6)),
    (2, "GLOBEX", "ETH", D(-3), date(2026, 1, 7)),
    (2, "GLOBEX", "USD", D("8998.5"), date(2026, 1, 7)),
]


def obligations(engine: Engine) -> list[tuple[object, ...]]:
    o = settlement_obligations.c
    stmt = select(o.trade_id, o.counterparty, o.asset, o.amount, o.settl_date).order_by(o.id)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def test_upgrade_from_foundation_with_trades_keeps_rows_and_journals_them(
    engine: Engine, empty_db_url: str
) -> None:
    upgrade(empty_db_url, "0001_foundation")
    run_script(engine, FOUNDATION_ROWS)
    before = table_rows(engine, ("desk_boots", *FOUNDATION_TABLES))

    upgrade(empty_db_url)

    assert current_revision(empty_db_url) == head_revision()
    after = table_rows(engine, ("desk_boots", *FOUNDATION_TABLES))
    assert {t: [r[: len(before[t][0])] for r in rows] for t, rows in after.items()} == before
    assert [r[-1] for r in after["hedge_intents"]] == [None, None]  # 0002's batch_id, added
    # The trades booked before canonical fills existed got theirs, then their journal entries.
    with engine.connect() as conn:
        keyed = conn.execute(
            select(fills.c.fill_key, fills.c.side, fills.c.trade_id, fills.c.booked_at)
            .order_by(fills.c.id)
        ).all()  # fmt: skip
        kinds = conn.execute(select(journal_entries.c.kind).distinct()).scalars().all()
    assert [tuple(r) for r in keyed] == [
        ("client:ACME:C-1", "SELL", 1, T0),
        ("client:GLOBEX:C-9", "BUY", 2, T0.replace(second=1, microsecond=0)),
    ]
    assert kinds == ["CLIENT_TRADE"]
    lines = journal(engine)
    assert lines == {"client:ACME:C-1": CLIENT_C1, "client:GLOBEX:C-9": CLIENT_C9}
    assert_balanced(lines)
    assert obligations(engine) == OBLIGATIONS


def test_upgrade_from_hedging_with_fills_journals_client_and_exchange_fills(
    engine: Engine, empty_db_url: str
) -> None:
    upgrade(empty_db_url, "0001_foundation")
    run_script(engine, FOUNDATION_ROWS)
    upgrade(empty_db_url, "0002_hedging")
    run_script(engine, HEDGING_ROWS)
    before = table_rows(engine, (*FOUNDATION_TABLES, "fills"))

    upgrade(empty_db_url)

    after = table_rows(engine, (*FOUNDATION_TABLES, "fills"))
    assert {t: rows[: len(before[t])] for t, rows in after.items()} == before
    assert len(after["fills"]) == 3  # C-9 had no canonical fill: the upgrade made it
    lines = journal(engine)
    assert lines == {
        "client:ACME:C-1": CLIENT_C1,
        "exchange:sim-a:77": [
            ("desk:inventory", "BTC", D("0.5")),
            ("venue:sim-a", "BTC", D("-0.5")),
            ("desk:inventory", "USD", D("-29995.05")),
            ("venue:sim-a", "USD", D("29995.05")),
            ("desk:inventory", "BTC", D("-0.0005")),
            ("fees:sim-a", "BTC", D("0.0005")),
        ],
        "client:GLOBEX:C-9": CLIENT_C9,
    }
    assert_balanced(lines)
    assert obligations(engine) == OBLIGATIONS
    assert Ledger(engine).balances()[("desk:inventory", "BTC")] == D("-0.0005")


def test_downgrade_to_hedging_keeps_the_trades_and_upgrade_journals_them_again(
    engine: Engine, empty_db_url: str
) -> None:
    upgrade(empty_db_url, "0001_foundation")
    run_script(engine, FOUNDATION_ROWS)
    upgrade(empty_db_url, "0003_journal")
    kept = table_rows(engine, (*FOUNDATION_TABLES, "fills"))
    config = Config()
    config.set_main_option("script_location", str(sql_dir() / "migrations"))

    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002_hedging")
        conn.commit()

    assert current_revision(empty_db_url) == "0002_hedging"
    assert table_rows(engine, (*FOUNDATION_TABLES, "fills")) == kept
    assert "postings" not in inspect(engine).get_table_names()
    upgrade(empty_db_url)
    assert journal(engine) == {"client:ACME:C-1": CLIENT_C1, "client:GLOBEX:C-9": CLIENT_C9}
