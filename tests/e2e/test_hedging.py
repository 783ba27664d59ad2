"""Hedging end to end: a client fill over FIX is hedged on the simulator's venues through
ccxt, under faults and across a kill -9, and the desk ends flat with every record agreeing.

The simulator is shared by the module; each test reads balances and orders before it starts
and checks only what changed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from structlog.testing import capture_logs

from desk.config.loader import load_config
from desk.hedging.engine import HedgeEngine
from desk.hedging.own_process import HedgerProcess
from desk.ledger.database import make_engine
from desk.ledger.hedge_store import HedgeStore
from desk.ledger.models import fills, hedge_batches
from exchange_sim.runner import SimulatorThread
from tests.e2e.desk_process import DeskProcess, demo_credentials
from tests.e2e.helpers import order, quote
from tests.fixclient import FixClient
from tests.fixtures.desk import VENUES, RunningDesk, StartDesk, desk_toml, free_port
from tests.sim_admin import admin

BTC = "BTC/USDT"
OTC_DESK = str(Path(sys.executable).with_name("otc-desk"))
FAST_TIMEOUT = '[hedging]\norder_timeout_ms = 1000\nalgo = "router"\n'


def _wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _sim_orders(sim: SimulatorThread) -> dict[str, list[dict[str, Any]]]:
    return {v: admin(sim.base_url(v), "orders")["orders"] for v in VENUES}


def _balances(sim: SimulatorThread) -> dict[str, dict[str, Decimal]]:
    answer = {v: admin(sim.base_url(v), "balances")["balances"] for v in VENUES}
    return {
        v: {asset: Decimal(b["free"]) + Decimal(b["locked"]) for asset, b in bal.items()}
        for v, bal in answer.items()
    }


def _new_desk_orders(
    before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    seen = {o["clientOrderId"] for orders in before.values() for o in orders}
    return [o for orders in after.values() for o in orders if o["clientOrderId"] not in seen]


def _assert_no_duplicates(orders: list[dict[str, Any]]) -> None:
    counts = Counter(o["clientOrderId"] for o in orders)
    assert all(n == 1 for n in counts.values()), counts


def _client_buys(desk: RunningDesk, qty: str) -> None:
    with desk.logged_on() as c:
        _, fill = order(c, quote(c, BTC, qty, side="1"), "1")
        assert fill[150] == "F", fill


def _hedged(store: HedgeStore) -> Callable[[], bool]:
    """Flat in BTC with every batch closed: the last fill is booked before its batch is
    finished, so flat alone does not yet mean the batch says DONE."""
    return lambda: (
        store.position(BTC) == 0
        and not store.working_batches()
        and not store.symbols_with_pending_intents()
    )


@pytest.fixture
def faults_cleared(simulator: SimulatorThread) -> Iterator[None]:
    yield
    for venue in VENUES:
        base = simulator.base_url(venue)
        admin(base, "faults/clear", {})
        admin(base, "outage", {"down": False})


def test_a_client_buy_is_hedged_and_positions_ledger_and_venues_agree(
    start_desk: StartDesk,
) -> None:
    # On a thread of the desk's, so that this process sees the hedger's statements.
    desk = start_desk(extra="[hedging]\nprocess = false\n")
    assert desk.server.core is not None
    core = desk.server.core
    assert isinstance(core.hedger, HedgeEngine)
    sim = desk.simulator
    orders_before, balances_before = _sim_orders(sim), _balances(sim)
    hedger_reads: list[str] = []

    def record_hedger_reads(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if threading.current_thread().name == "hedger" and statement.lstrip().startswith(
            "SELECT"
        ):
            hedger_reads.append(statement)

    event.listen(Engine, "before_cursor_execute", record_hedger_reads)
    try:
        _client_buys(desk, "0.5")
        _wait_until(_hedged(core.hedge_store))
    finally:
        event.remove(Engine, "before_cursor_execute", record_hedger_reads)
    # A new batch keeps its own orders and fills: it reads none of them back.
    assert hedger_reads, "the hedger's reads were not seen (it polls the outbox)"
    assert not [s for s in hedger_reads if "hedge_orders" in s or "FROM fills" in s]
    new = _new_desk_orders(orders_before, _sim_orders(sim))
    _assert_no_duplicates(new)
    assert sum(Decimal(o["executedQty"]) for o in new) == Decimal("0.5")
    assert all(o["side"] == "BUY" and o["clientOrderId"].startswith("otc") for o in new)
    # The venues' accounts moved exactly as the desk's booked exchange fills say.
    after = _balances(sim)
    moved_btc = sum(after[v]["BTC"] - balances_before[v]["BTC"] for v in VENUES)
    moved_usdt = sum(after[v]["USDT"] - balances_before[v]["USDT"] for v in VENUES)
    with core.engine.connect() as conn:
        booked = conn.execute(select(fills).where(fills.c.source == "EXCHANGE")).all()
        [batch] = conn.execute(select(hedge_batches)).all()
    btc_fees = sum((f.fee for f in booked if f.fee_currency == "BTC"), Decimal(0))
    assert moved_btc == sum((f.qty for f in booked), Decimal(0)) - btc_fees
    assert moved_usdt == -sum((f.qty * f.price for f in booked), Decimal(0))
    assert (batch.status, batch.side, batch.qty, batch.filled_qty) == (
        "DONE",
        "BUY",
        Decimal("0.5"),
        Decimal("0.5"),
    )
    assert batch.slippage_bps is not None
    assert batch.fee_bps is not None
    assert batch.first_order_at is not None
    # Positions: flat in the instrument; the only BTC left is what the fees took. Ops see the
    # same through the CLI.
    assert core.inventory.net("BTC") == 0
    assert core.hedge_store.positions_by_asset()["BTC"] == -btc_fees
    done = subprocess.run(  # noqa: S603 - our own CLI
        [OTC_DESK, "--config", str(desk.config_path), "positions", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    shown = json.loads(done.stdout)
    assert Decimal(shown["instruments"][BTC]) == 0
    assert Decimal(shown["assets"]["BTC"]) == -btc_fees
    table = subprocess.run(  # noqa: S603
        [OTC_DESK, "--config", str(desk.config_path), "positions"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert table.splitlines()[0].split() == ["instrument", "net"]
    assert any(line.split() == [BTC, "0"] for line in table.splitlines())


def test_the_hedger_in_its_own_process_moves_the_desk_inventory_and_is_restarted(
    start_desk: StartDesk,
) -> None:
    desk = start_desk()
    assert desk.server.core is not None
    core = desk.server.core
    hedger = core.hedger
    assert isinstance(hedger, HedgerProcess)
    first_pid = hedger.pid
    assert first_pid is not None
    assert first_pid != os.getpid()
    _client_buys(desk, "0.5")
    _wait_until(_hedged(core.hedge_store))
    # The desk's inventory took the hedger's fills from the other process: flat again.
    _wait_until(lambda: core.inventory.net("BTC") == 0)

    # A hedger that dies is started again, and hedges what was booked meanwhile.
    os.kill(first_pid, signal.SIGKILL)
    _wait_until(lambda: hedger.pid not in (None, first_pid) and hedger.wait_ready(0))
    _client_buys(desk, "0.3")
    _wait_until(_hedged(core.hedge_store))
    _wait_until(lambda: core.inventory.net("BTC") == 0)
    with core.engine.connect() as conn:
        batches = conn.execute(select(hedge_batches)).all()
    assert [(b.status, b.qty) for b in batches] == [
        ("DONE", Decimal("0.5")),
        ("DONE", Decimal("0.3")),
    ]
    assert core.hedge_store.hedged_positions()["BTC"] == Decimal("0.8")

    # SIGTERM (a service manager stopping the group) stops it cleanly; it is started again.
    second_pid = hedger.pid
    assert second_pid is not None
    with capture_logs() as logs:
        os.kill(second_pid, signal.SIGTERM)
        _wait_until(lambda: hedger.pid not in (None, second_pid) and hedger.wait_ready(0))
    [exited] = [e for e in logs if e["event"] == "hedge.process_exited"]
    assert exited["exit_code"] == 0
    assert exited["was_ready"] is True


def test_fills_booked_within_the_netting_window_are_hedged_in_one_batch(
    start_desk: StartDesk,
) -> None:
    # A long window, so that the second and third fills surely land inside it.
    desk = start_desk(extra="[hedging]\nprocess = false\nnet_window_ms = 1500\n")
    assert desk.server.core is not None
    core = desk.server.core
    orders_before = _sim_orders(desk.simulator)
    with desk.logged_on() as c:
        for qty in ("0.1", "0.2", "0.3"):
            _, fill = order(c, quote(c, BTC, qty, side="1"), "1")
            assert fill[150] == "F", fill
            if qty == "0.1":  # its batch opens its instrument's window
                _wait_until(_hedged(core.hedge_store))
    _wait_until(_hedged(core.hedge_store))
    with core.engine.connect() as conn:
        batches = conn.execute(select(hedge_batches).order_by(hedge_batches.c.id)).all()
        booked = conn.execute(
            select(fills.c.booked_at).where(fills.c.source == "CLIENT").order_by(fills.c.id)
        ).scalars().all()
    # The first fill is hedged at once; the next two, booked while its window ran, in one
    # batch opened when the window ended.
    assert [(b.status, b.side, b.qty) for b in batches] == [
        ("DONE", "BUY", Decimal("0.1")),
        ("DONE", "BUY", Decimal("0.5")),
    ]
    assert batches[0].created_at - booked[0] < timedelta(milliseconds=1000)
    assert batches[1].created_at - batches[0].created_at >= timedelta(milliseconds=1400)
    new = _new_desk_orders(orders_before, _sim_orders(desk.simulator))
    _assert_no_duplicates(new)
    assert sum(Decimal(o["executedQty"]) for o in new) == Decimal("0.6")


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"order_5xx": {"count": 1, "placed": True}}, id="5xx-after-placing"),
        pytest.param({"order_5xx": {"count": 1, "placed": False}}, id="5xx-not-placed"),
        pytest.param({"order_timeout": {"count": 1, "delay_s": 2}}, id="timeout-after-placing"),
        pytest.param(
            {"rate_limit": {"status": 429, "retry_after_s": 1, "count": 3}}, id="429-storm"
        ),
    ],
)
def test_a_faulty_venue_answer_never_doubles_the_hedge(
    start_desk: StartDesk, faults_cleared: None, fault: dict[str, Any]
) -> None:
    desk = start_desk(extra=FAST_TIMEOUT)
    assert desk.server.core is not None
    sim = desk.simulator
    before = _sim_orders(sim)
    for venue in VENUES:
        admin(sim.base_url(venue), "faults", fault)

    _client_buys(desk, "0.3")

    _wait_until(_hedged(desk.server.core.hedge_store))
    new = _new_desk_orders(before, _sim_orders(sim))
    _assert_no_duplicates(new)
    assert sum(Decimal(o["executedQty"]) for o in new) == Decimal("0.3")


def test_insufficient_balance_on_one_venue_moves_the_hedge_to_the_others(
    start_desk: StartDesk, faults_cleared: None
) -> None:
    desk = start_desk(extra=FAST_TIMEOUT)
    assert desk.server.core is not None
    sim = desk.simulator
    before = _sim_orders(sim)
    for venue in VENUES[:2]:
        admin(sim.base_url(venue), "faults", {"insufficient_balance": True})

    _client_buys(desk, "0.3")

    _wait_until(_hedged(desk.server.core.hedge_store))
    after = _sim_orders(sim)
    new = _new_desk_orders(before, after)
    _assert_no_duplicates(new)
    assert sum(Decimal(o["executedQty"]) for o in new) == Decimal("0.3")
    # Only the venue with the balance traded.
    for venue in VENUES[:2]:
        refused = _new_desk_orders({"x": before[venue]}, {"x": after[venue]})
        assert sum(Decimal(o["executedQty"]) for o in refused) == 0


def test_a_venue_down_mid_twap_delays_but_never_doubles_the_hedge(
    start_desk: StartDesk, faults_cleared: None
) -> None:
    desk = start_desk(
        extra='[hedging]\nalgo = "twap"\ntwap_clips = 4\ntwap_horizon_ms = 2000\n'
        "order_timeout_ms = 1000\n"
    )
    assert desk.server.core is not None
    sim = desk.simulator
    before = _sim_orders(sim)

    _client_buys(desk, "0.4")
    _wait_until(lambda: len(_new_desk_orders(before, _sim_orders(sim))) >= 1)
    [first] = _new_desk_orders(before, _sim_orders(sim))[:1]
    venue = next(v for v, orders in _sim_orders(sim).items() if first in orders)
    admin(sim.base_url(venue), "outage", {"down": True})
    time.sleep(1.0)
    admin(sim.base_url(venue), "outage", {"down": False})

    _wait_until(_hedged(desk.server.core.hedge_store), timeout=30)
    new = _new_desk_orders(before, _sim_orders(sim))
    _assert_no_duplicates(new)
    assert sum(Decimal(o["executedQty"]) for o in new) == Decimal("0.4")


def test_kill_9_mid_twap_then_the_hedge_resumes_and_completes_once(
    tmp_path: Path, simulator: SimulatorThread, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_credentials(monkeypatch)
    port = free_port()
    config_path = tmp_path / "desk.toml"
    config_path.write_text(
        desk_toml(
            var_dir=tmp_path / "var",
            database_url=sqlite_url,
            fix_port=port,
            venue_urls={name: simulator.api_url(name) for name in VENUES},
            extra='[hedging]\nalgo = "twap"\ntwap_clips = 4\ntwap_horizon_ms = 4000\n',
        ),
        encoding="utf-8",
    )
    process = DeskProcess(config_path, tmp_path / "desk.log", port)
    before = _sim_orders(simulator)
    process.start()
    try:
        client = FixClient("127.0.0.1", port, sender="CLIENT1")
        client.logon("client1", "client1-demo")
        _, fill = order(client, quote(client, BTC, "0.8", side="1"), "1")
        assert fill[150] == "F"
        _wait_until(lambda: len(_new_desk_orders(before, _sim_orders(simulator))) >= 1)
        process.kill9()
        client.close()
        sent_before_kill = len(_new_desk_orders(before, _sim_orders(simulator)))
        assert sent_before_kill < 4, "the TWAP finished before the kill: nothing to resume"

        process.start()
        engine = make_engine(load_config(config_path, env={}).database_url)
        try:
            store = HedgeStore(engine)
            _wait_until(_hedged(store), timeout=30)
            with engine.connect() as conn:
                batches = conn.execute(select(hedge_batches)).all()
        finally:
            engine.dispose()
    finally:
        if process.proc is not None and process.proc.poll() is None:
            process.terminate()
    assert [(b.status, b.qty, b.filled_qty) for b in batches] == [
        ("DONE", Decimal("0.8"), Decimal("0.8"))
    ]
    new = _new_desk_orders(before, _sim_orders(simulator))
    _assert_no_duplicates(new)
    assert sum(Decimal(o["executedQty"]) for o in new) == Decimal("0.8")
    assert "hedge.resumed" in (tmp_path / "desk.log").read_text()
