"""SimulatorThread and serve_forever: start, bind, stop cleanly, leave nothing behind."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
import requests

from exchange_sim.config import SimConfig, SimVenueConfig, default_symbols
from exchange_sim.runner import SimulatorThread, serve_forever
from tests.exchange_sim.helpers import HTTP_TIMEOUT_S, fast_config


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def _refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_start_binds_every_venue_and_stop_leaves_nothing_behind() -> None:
    before = _threads()
    sim = SimulatorThread(fast_config(("sim-a", "sim-b", "sim-c")))
    sim.start()
    ports = sim.ports
    assert set(ports) == {"sim-a", "sim-b", "sim-c"}
    assert len(set(ports.values())) == 3
    assert all(p > 0 for p in ports.values())
    assert sim.base_url("sim-c") == f"http://127.0.0.1:{ports['sim-c']}"
    for name in ports:
        resp = requests.get(f"{sim.api_url(name)}/ping", timeout=HTTP_TIMEOUT_S)
        assert resp.status_code == 200
    sim.stop()
    sim.stop()  # idempotent
    assert _threads() == before
    assert all(_refuses(p) for p in ports.values())
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.ports


def test_context_manager_and_single_use() -> None:
    before = _threads()
    with SimulatorThread(fast_config(("only",))) as sim:
        assert requests.get(f"{sim.base_url('only')}/admin/state", timeout=HTTP_TIMEOUT_S).ok
        with pytest.raises(KeyError, match="no venue"):
            sim.base_url("missing")
        with pytest.raises(RuntimeError, match="once"):
            sim.start()
    assert _threads() == before
    SimulatorThread(fast_config()).stop()  # stop before start is a no-op


def test_bind_failure_is_reported_and_cleaned_up() -> None:
    before = _threads()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        cfg = SimConfig(
            venues=(
                SimVenueConfig(name="ok", port=0, seed=1, symbols=default_symbols()),
                SimVenueConfig(name="clash", port=taken, seed=2, symbols=default_symbols()),
            )
        )
        sim = SimulatorThread(cfg)
        with pytest.raises(RuntimeError, match="failed to start"):
            sim.start()
        sim.stop()
    assert _threads() == before


def test_serve_forever_runs_until_stop_event() -> None:
    async def scenario() -> dict[str, int]:
        stop = asyncio.Event()
        ready: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve_forever(fast_config(), stop, on_ready=ready.set_result))
        ports = await asyncio.wait_for(ready, timeout=5)
        # requests is blocking; run it off the loop that is serving the venues.
        resp = await asyncio.to_thread(
            requests.get, f"http://127.0.0.1:{ports['sim-b']}/api/v3/time", timeout=5
        )
        assert resp.status_code == 200
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        return ports

    ports = asyncio.run(scenario())
    assert all(_refuses(p) for p in ports.values())
