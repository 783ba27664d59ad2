"""BookFeed against the real simulator: streams, REST fallback, resync, clean stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import requests
import structlog

from desk.clock import SystemClock
from desk.config.model import MarketDataConfig, VenueConfig
from desk.marketdata.feed import BookFeed
from desk.marketdata.snapshot import MarketSnapshot, VenueBook
from exchange_sim.runner import SimulatorThread
from tests.fixtures.desk import VENUES
from tests.sim_admin import admin, book_path

SYMBOLS = ("BTC/USDT", "ETH/USDT")
DEPTH = 20


def wait_until(predicate: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def venue_configs(sim: SimulatorThread, ws_urls: dict[str, str] | None = None) -> list[VenueConfig]:
    def ws(name: str) -> str:
        return sim.base_url(name).replace("http://", "ws://") + "/ws"

    return [
        VenueConfig(
            name=name,
            ccxt_id="binance",
            api_url=sim.api_url(name),
            ws_url=(ws_urls or {}).get(name, ws(name)),
        )
        for name in VENUES
    ]


@contextmanager
def running_feed(
    sim: SimulatorThread, *, streaming: bool = True, ws_urls: dict[str, str] | None = None
) -> Iterator[tuple[BookFeed, MarketSnapshot]]:
    config = MarketDataConfig(
        poll_interval_ms=50,
        stale_after_ms=1500,
        depth_levels=DEPTH,
        request_timeout_ms=1000,
        streaming=streaming,
        stream_retry_ms=200,
    )
    snapshot = MarketSnapshot()
    feed = BookFeed(venue_configs(sim, ws_urls), SYMBOLS, config, snapshot, SystemClock())
    feed.start()
    try:
        wait_until(lambda: all(snapshot.get(v, s) for v in VENUES for s in SYMBOLS))
        yield feed, snapshot
    finally:
        feed.stop()


def mode(feed: BookFeed, venue: str, symbol: str = "BTC/USDT") -> str:
    return feed.status()[venue][symbol].mode


def all_streaming(feed: BookFeed, venue: str) -> bool:
    """Every symbol of ``venue`` streams (so each has its subscription on the simulator)."""
    return all(mode(feed, venue, symbol) == "streaming" for symbol in SYMBOLS)


def book(snapshot: MarketSnapshot, venue: str, symbol: str = "BTC/USDT") -> VenueBook:
    found = snapshot.get(venue, symbol)
    assert found is not None
    return found


def events(logs: list[dict[str, Any]], name: str, venue: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name and e.get("venue") == venue]


def sim_top(sim: SimulatorThread, venue: str) -> tuple[int, list[Any], list[Any]]:
    """The venue's BTC/USDT top levels over REST, as exact Decimals."""
    resp = requests.get(
        f"{sim.api_url(venue)}/depth", params={"symbol": "BTCUSDT", "limit": DEPTH}, timeout=5
    )
    resp.raise_for_status()
    doc = resp.json()
    bids = [(Decimal(p), Decimal(q)) for p, q in doc["bids"]]
    asks = [(Decimal(p), Decimal(q)) for p, q in doc["asks"]]
    return int(doc["lastUpdateId"]), bids, asks


def assert_matches_sim_when_frozen(
    sim: SimulatorThread, snapshot: MarketSnapshot, venue: str
) -> None:
    base = sim.base_url(venue)
    admin(base, "freeze", {"frozen": True})
    try:
        target = admin(base, "state")["symbols"]["BTC/USDT"]["lastUpdateId"]
        wait_until(lambda: book(snapshot, venue).update_id == target)
        update_id, bids, asks = sim_top(sim, venue)
        streamed = book(snapshot, venue)
        assert streamed.update_id == update_id
        assert list(streamed.bids) == bids
        assert list(streamed.asks) == asks
    finally:
        admin(base, "freeze", {"frozen": False})


def test_streamed_books_are_exact_decimals_matching_the_sim(simulator: SimulatorThread) -> None:
    with running_feed(simulator) as (feed, snapshot):
        wait_until(lambda: all(mode(feed, v, s) == "streaming" for v in VENUES for s in SYMBOLS))
        first = book(snapshot, "sim-a")
        wait_until(lambda: book(snapshot, "sim-a").update_id != first.update_id)
        streamed = book(snapshot, "sim-a")
        assert streamed.source == "stream"
        assert len(streamed.bids) == len(streamed.asks) == DEPTH
        for price, qty in streamed.bids + streamed.asks:
            assert type(price) is Decimal
            assert type(qty) is Decimal
        assert_matches_sim_when_frozen(simulator, snapshot, "sim-a")
        status = feed.status()["sim-a"]["BTC/USDT"]
        assert status.error is None
        assert status.as_dict()["mode"] == "streaming"


def test_stream_down_falls_back_to_polling_and_recovers(simulator: SimulatorThread) -> None:
    base = simulator.base_url("sim-b")
    with structlog.testing.capture_logs() as logs, running_feed(simulator) as (feed, snapshot):
        wait_until(lambda: all_streaming(feed, "sim-b"))
        admin(base, "stream", {"down": True})
        try:
            wait_until(lambda: all(mode(feed, "sim-b", s) == "polling" for s in SYMBOLS))
            wait_until(lambda: book(snapshot, "sim-b").source == "poll")
            assert "NetworkError" in (feed.status()["sim-b"]["BTC/USDT"].error or "")
            # Polled books still move, and follow the venue's mid.
            before = book(snapshot, "sim-b").update_id
            wait_until(lambda: book(snapshot, "sim-b").update_id != before)
            moved = admin(base, book_path("BTC/USDT"), {"shift_bps": "100"})
            target = Decimal(moved["mid"])
            wait_until(lambda: abs(book(snapshot, "sim-b").mid - target) < target / 2000)
            # Retries every 200 ms never log again while it stays down.
            time.sleep(0.6)
            assert mode(feed, "sim-a") == "streaming"
        finally:
            admin(base, "stream", {"down": False})
            admin(base, book_path("BTC/USDT"), {"shift_bps": "-100"})
        wait_until(lambda: all(mode(feed, "sim-b", s) == "streaming" for s in SYMBOLS))
        wait_until(lambda: book(snapshot, "sim-b").source == "stream")
        assert feed.status()["sim-b"]["BTC/USDT"].error is None
    down = events(logs, "md.stream.down", "sim-b")
    assert sorted(e["symbol"] for e in down) == sorted(SYMBOLS)
    assert all("NetworkError" in e["error"] for e in down)
    recovered = events(logs, "md.stream.recovered", "sim-b")
    assert sorted(e["symbol"] for e in recovered) == sorted(SYMBOLS)
    assert not events(logs, "md.stream.down", "sim-a")


def test_a_gap_resyncs_and_the_book_matches_the_sim_again(simulator: SimulatorThread) -> None:
    base = simulator.base_url("sim-c")
    with structlog.testing.capture_logs() as logs, running_feed(simulator) as (feed, snapshot):
        wait_until(lambda: all_streaming(feed, "sim-c"))
        # ccxt checks the first event after a snapshot leniently (U <= lastUpdateId + 1) and
        # every later one strictly (U == previous u + 1): a gap in that first event goes
        # unseen. So each symbol must have applied a streamed event before the gap.
        synced = {s: book(snapshot, "sim-c", s).update_id for s in SYMBOLS}
        wait_until(
            lambda: all(book(snapshot, "sim-c", s).update_id != synced[s] for s in SYMBOLS)
        )
        assert admin(base, "stream/gap", {})["subscriptions"] >= 2
        wait_until(lambda: len(events(logs, "md.stream.resync", "sim-c")) >= 2)
        resyncs = events(logs, "md.stream.resync", "sim-c")
        assert sorted(e["symbol"] for e in resyncs) == sorted(SYMBOLS)
        assert "ChecksumError" in resyncs[0]["error"]
        assert mode(feed, "sim-c") == "streaming"
        assert_matches_sim_when_frozen(simulator, snapshot, "sim-c")
        assert book(snapshot, "sim-c").source == "stream"
    assert not events(logs, "md.stream.down", "sim-c")


def test_outage_fails_both_ways_then_everything_recovers(simulator: SimulatorThread) -> None:
    base = simulator.base_url("sim-a")
    with structlog.testing.capture_logs() as logs, running_feed(simulator) as (feed, snapshot):
        wait_until(lambda: all_streaming(feed, "sim-a"))
        admin(base, "outage", {"down": True})
        try:
            wait_until(lambda: len(events(logs, "md.venue.failed", "sim-a")) == len(SYMBOLS))
            assert mode(feed, "sim-a") == "polling"
        finally:
            admin(base, "outage", {"down": False})
        wait_until(lambda: all(mode(feed, "sim-a", s) == "streaming" for s in SYMBOLS))
        wait_until(lambda: len(events(logs, "md.venue.recovered", "sim-a")) == len(SYMBOLS))
        previous = book(snapshot, "sim-a").update_id
        wait_until(lambda: book(snapshot, "sim-a").update_id != previous)
    for name in ("md.stream.down", "md.venue.failed", "md.venue.recovered", "md.stream.recovered"):
        assert sorted(e["symbol"] for e in events(logs, name, "sim-a")) == sorted(SYMBOLS), name


def test_streaming_off_only_polls(simulator: SimulatorThread) -> None:
    with (
        structlog.testing.capture_logs() as logs,
        running_feed(simulator, streaming=False) as (
            feed,
            snapshot,
        ),
    ):
        assert all(mode(feed, v, s) == "polling" for v in VENUES for s in SYMBOLS)
        first = book(snapshot, "sim-b")
        wait_until(lambda: book(snapshot, "sim-b").update_id != first.update_id)
        polled = book(snapshot, "sim-b")
        assert polled.source == "poll"
        for price, qty in polled.bids + polled.asks:
            assert type(price) is Decimal
            assert type(qty) is Decimal
    assert not [e for e in logs if str(e["event"]).startswith("md.stream.")]
    assert {e["venue"] for e in logs if e["event"] == "md.venue.ready"} == set(VENUES)


def test_an_unreachable_stream_polls_from_the_start(simulator: SimulatorThread) -> None:
    # A port nobody listens on: the REST half of the venue works, its stream never does.
    dead = {"sim-c": "ws://127.0.0.1:9/ws"}
    with (
        structlog.testing.capture_logs() as logs,
        running_feed(simulator, ws_urls=dead) as (
            feed,
            snapshot,
        ),
    ):
        wait_until(lambda: all(mode(feed, "sim-c", s) == "polling" for s in SYMBOLS))
        first = book(snapshot, "sim-c")
        wait_until(lambda: book(snapshot, "sim-c").update_id != first.update_id)
        assert book(snapshot, "sim-c").source == "poll"
        wait_until(lambda: mode(feed, "sim-a") == "streaming")
        time.sleep(0.5)
    assert len(events(logs, "md.stream.down", "sim-c")) == len(SYMBOLS)


def test_stop_closes_the_sockets_and_joins_the_thread(simulator: SimulatorThread) -> None:
    with running_feed(simulator) as (feed, _):
        wait_until(lambda: all(all_streaming(feed, v) for v in VENUES))
        assert admin(simulator.base_url("sim-a"), "state")["wsClients"] >= 2
        started = time.monotonic()
    assert time.monotonic() - started < 5
    assert not any(t.name == "market-data" for t in threading.enumerate())

    def no_clients() -> bool:
        return all(admin(simulator.base_url(v), "state")["wsClients"] == 0 for v in VENUES)

    wait_until(no_clients)
