"""The Binance diff-depth WebSocket stream, checked with a raw aiohttp client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from exchange_sim.book import PriceLevel, changed_prices
from exchange_sim.depth_diff import touched_levels
from exchange_sim.runner import SimulatorThread

STREAM = "btcusdt@depth@100ms"
RECV_TIMEOUT_S = 3.0
Book = dict[str, dict[Decimal, Decimal]]
Session = Callable[[aiohttp.ClientSession], Awaitable[None]]


def ws_url(sim: SimulatorThread, venue: str = "sim-a", tail: str = "/ws/0") -> str:
    return sim.base_url(venue).replace("http://", "ws://") + tail


def run(body: Session) -> None:
    async def main() -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await body(http)

    asyncio.run(main())


async def recv(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=RECV_TIMEOUT_S)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    result: dict[str, Any] = json.loads(msg.data)
    return result


async def request(
    ws: aiohttp.ClientWebSocketResponse, method: str, params: Any = None, req_id: Any = 1
) -> dict[str, Any]:
    """Send a request and return its answer, skipping any depth events in between."""
    payload: dict[str, Any] = {"method": method, "id": req_id}
    if params is not None:
        payload["params"] = params
    await ws.send_str(json.dumps(payload))
    for _ in range(50):
        answer = await recv(ws)
        if answer.get("e") != "depthUpdate":
            return answer
    raise AssertionError("no answer among 50 messages")


async def next_event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    event = await recv(ws)
    assert event["e"] == "depthUpdate", event
    return event


async def admin(http: aiohttp.ClientSession, base: str, path: str, body: Any) -> dict[str, Any]:
    async with http.post(f"{base}/admin/{path}", json=body) as resp:
        assert resp.status == 200, await resp.text()
        result: dict[str, Any] = await resp.json()
        return result


async def depth(http: aiohttp.ClientSession, base: str, symbol: str = "BTCUSDT") -> dict[str, Any]:
    async with http.get(f"{base}/api/v3/depth", params={"symbol": symbol, "limit": "1000"}) as r:
        assert r.status == 200, await r.text()
        result: dict[str, Any] = await r.json()
        return result


def as_book(snapshot: dict[str, Any]) -> Book:
    return {
        side: {Decimal(p): Decimal(q) for p, q in snapshot[key]}
        for side, key in (("bids", "bids"), ("asks", "asks"))
    }


def apply(book: Book, event: dict[str, Any]) -> None:
    for side, key in (("bids", "b"), ("asks", "a")):
        for price, qty in event[key]:
            if Decimal(qty) == 0:
                book[side].pop(Decimal(price), None)
            else:
                book[side][Decimal(price)] = Decimal(qty)


def test_subscribe_is_acknowledged_and_pushes_binance_diffs(sim: SimulatorThread) -> None:
    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            assert await request(ws, "SUBSCRIBE", [STREAM], 7) == {"result": None, "id": 7}
            event = await next_event(ws)
            assert set(event) == {"e", "E", "s", "U", "u", "b", "a"}
            assert event["s"] == "BTCUSDT"
            assert isinstance(event["E"], int)
            assert event["U"] <= event["u"]
            assert event["b"] or event["a"]
            for price, qty in event["b"] + event["a"]:
                # Exactly the REST depth formatting: eight places, plain notation.
                assert len(price.split(".")[1]) == 8
                assert len(qty.split(".")[1]) == 8
                assert Decimal(price) > 0
                assert Decimal(qty) >= 0
            bids = [Decimal(p) for p, _ in event["b"]]
            asks = [Decimal(p) for p, _ in event["a"]]
            assert bids == sorted(bids, reverse=True)
            assert asks == sorted(asks)

    run(body)


def test_update_ids_are_continuous_across_pushes(sim: SimulatorThread) -> None:
    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            previous = await next_event(ws)
            for _ in range(8):
                event = await next_event(ws)
                assert event["U"] == previous["u"] + 1
                assert event["u"] >= event["U"]
                previous = event

    run(body)


def test_snapshot_plus_diffs_is_exactly_the_sims_book(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")

    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            # Binance's recipe: subscribe, then snapshot, then drop events up to it.
            snapshot = await depth(http, base)
            book = as_book(snapshot)
            last = snapshot["lastUpdateId"]
            first = True
            applied = 0
            frozen_at: int | None = None
            for _ in range(200):
                event = await next_event(ws)
                if event["u"] <= last:
                    continue
                if first:
                    assert event["U"] <= last + 1 <= event["u"]
                    first = False
                else:
                    assert event["U"] == last + 1
                apply(book, event)
                last = event["u"]
                applied += 1
                if applied == 5 and frozen_at is None:
                    await admin(http, base, "freeze", {"frozen": True})
                    frozen_at = (await depth(http, base))["lastUpdateId"]
                if frozen_at is not None and last == frozen_at:
                    break
            assert frozen_at is not None
            assert last == frozen_at
            final = await depth(http, base)
            assert final["lastUpdateId"] == frozen_at
            assert book == as_book(final)

    run(body)


def test_a_snapshot_inside_an_events_range_still_rebuilds_the_book(sim: SimulatorThread) -> None:
    """Binance's first-event rule lets the snapshot fall between U and u: levels that came
    and went inside that range must still be sent (quantity 0), or they would linger."""
    base = sim.base_url("sim-b")

    async def body(http: aiohttp.ClientSession) -> None:
        await admin(http, base, "freeze", {"frozen": True})
        straddled = 0
        async with http.ws_connect(ws_url(sim, "sim-b")) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            # Each round: one update, a snapshot, three more updates. The 100 ms push
            # usually falls after all four, so the snapshot sits inside the event's range.
            for _ in range(10):
                await admin(http, base, "step", {"steps": 1})
                snapshot = await depth(http, base)
                book, last = as_book(snapshot), snapshot["lastUpdateId"]
                target = (await admin(http, base, "step", {"steps": 3}))["symbols"]["BTC/USDT"]
                for _ in range(10):
                    event = await next_event(ws)
                    if event["u"] <= last:
                        continue
                    assert event["U"] <= last + 1 <= event["u"]
                    straddled += event["U"] <= last
                    apply(book, event)
                    last = event["u"]
                    if last == target["lastUpdateId"]:
                        break
                assert book == as_book(await depth(http, base))
                if straddled >= 2:
                    break
        assert straddled >= 2

    run(body)


def test_no_push_while_the_book_does_not_change(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")

    async def body(http: aiohttp.ClientSession) -> None:
        await admin(http, base, "freeze", {"frozen": True})
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.5)
            moved = await admin(http, base, "step", {"steps": 2})
            event = await next_event(ws)
            assert event["u"] == moved["symbols"]["BTC/USDT"]["lastUpdateId"]
            assert event["U"] == event["u"] - 1

    run(body)


def test_list_resubscribe_and_unsubscribe(sim: SimulatorThread) -> None:
    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM, "ethusdt@depth"], 1)
            listed = await request(ws, "LIST_SUBSCRIPTIONS", None, 2)
            assert listed == {"result": ["btcusdt@depth@100ms", "ethusdt@depth"], "id": 2}
            # A repeated SUBSCRIBE (ccxt's resync) is answered again.
            assert await request(ws, "SUBSCRIBE", [STREAM], 3) == {"result": None, "id": 3}
            assert await request(ws, "UNSUBSCRIBE", ["ethusdt@depth"], 4) == {
                "result": None,
                "id": 4,
            }
            assert (await request(ws, "LIST_SUBSCRIPTIONS", None, "five"))["result"] == [STREAM]

    run(body)


def test_resubscribe_keeps_the_sequence_continuous(sim: SimulatorThread) -> None:
    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            previous = await next_event(ws)
            await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": [STREAM], "id": 2}))
            seen_ack = False
            for _ in range(6):
                message = await recv(ws)
                if message.get("id") == 2:
                    seen_ack = True
                    continue
                assert message["U"] == previous["u"] + 1
                previous = message
            assert seen_ack

    run(body)


def test_slow_depth_stream_pushes_about_once_a_second(sim: SimulatorThread) -> None:
    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim, tail="/ws")) as ws:
            await request(ws, "SUBSCRIBE", ["ethusdt@depth"])
            first = await next_event(ws)
            started = time.monotonic()
            second = await next_event(ws)
            assert second["s"] == "ETHUSDT"
            assert second["U"] == first["u"] + 1
            # 1000 ms cadence; the lower bound alone is robust on a loaded machine.
            assert time.monotonic() - started > 0.5

    run(body)


def test_raw_stream_path_subscribes_at_once(sim: SimulatorThread) -> None:
    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim, tail=f"/ws/{STREAM}")) as ws:
            event = await next_event(ws)
            assert event["s"] == "BTCUSDT"

    run(body)


@pytest.mark.parametrize(
    ("payload", "code", "answer_id"),
    [
        ("{not json", 3, None),
        ('["SUBSCRIBE"]', 2, None),
        ('{"method": "SUBSCRIBE", "params": ["dogeusdt@depth@100ms"], "id": 5}', 2, 5),
        ('{"method": "SUBSCRIBE", "params": ["BTCUSDT@depth@100ms"], "id": 6}', 2, 6),
        ('{"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 7}', 2, 7),
        ('{"method": "SUBSCRIBE", "params": "btcusdt@depth", "id": 8}', 2, 8),
        ('{"method": "SUBSCRIBE", "params": [], "id": 9}', 2, 9),
        ('{"method": "PING", "id": 10}', 2, 10),
        ('{"method": "SUBSCRIBE", "params": ["btcusdt@depth"], "id": true}', 2, None),
    ],
)
def test_bad_requests_get_binance_errors(
    sim: SimulatorThread, payload: str, code: int, answer_id: Any
) -> None:
    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            await ws.send_str(payload)
            answer = await recv(ws)
            assert answer["id"] == answer_id
            assert answer["error"]["code"] == code
            assert answer["error"]["msg"]
            # Nothing was subscribed, and the connection still serves requests.
            assert (await request(ws, "LIST_SUBSCRIPTIONS", None, 99))["result"] == []

    run(body)


def test_a_bad_stream_in_a_batch_subscribes_nothing(sim: SimulatorThread) -> None:
    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            answer = await request(ws, "SUBSCRIBE", [STREAM, "nope@depth"], 1)
            assert answer["error"]["code"] == 2
            assert "nope@depth" in answer["error"]["msg"]
            assert (await request(ws, "LIST_SUBSCRIPTIONS", None, 2))["result"] == []

    run(body)


def test_gap_admin_makes_the_next_push_skip_one_update_id(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")

    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            previous = await next_event(ws)
            answer = await admin(http, base, "stream/gap", {})
            assert answer == {"venue": "sim-a", "subscriptions": 1}
            # Events already on their way keep the sequence; the first jump is exactly 2.
            for _ in range(20):
                event = await next_event(ws)
                if event["U"] != previous["u"] + 1:
                    break
                previous = event
            assert event["U"] == previous["u"] + 2
            following = await next_event(ws)
            assert following["U"] == event["u"] + 1

    run(body)


def test_gap_leaves_the_skipped_change_out(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")

    async def body(http: aiohttp.ClientSession) -> None:
        await admin(http, base, "freeze", {"frozen": True})
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            await admin(http, base, "stream/gap", {})
            before = as_book(await depth(http, base))
            # One step: that update is the one skipped, so nothing is pushed for it.
            await admin(http, base, "step", {"steps": 1})
            skipped = as_book(await depth(http, base))
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.4)
            await admin(http, base, "step", {"steps": 1})
            event = await next_event(ws)
            assert event["U"] == event["u"] == (await depth(http, base))["lastUpdateId"]
            # Applied to the book before the gap, the event does not give the sim's book...
            naive = {side: dict(levels) for side, levels in before.items()}
            apply(naive, event)
            # ...it is the diff from the skipped state, as if that message had been lost.
            apply(skipped, event)
            assert skipped == as_book(await depth(http, base))
            assert naive != skipped

    run(body)


def test_stream_down_closes_sockets_and_refuses_upgrades(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")

    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            answer = await admin(http, base, "stream", {"down": True})
            assert answer == {"venue": "sim-a", "streamDown": True, "wsClients": 0}
            for _ in range(50):
                msg = await ws.receive(timeout=RECV_TIMEOUT_S)
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws_url(sim))
        assert refused.value.status == 503
        # REST keeps working, the other venue's stream too.
        assert (await depth(http, base))["bids"]
        async with http.ws_connect(ws_url(sim, "sim-b")) as other:
            await request(other, "SUBSCRIBE", [STREAM])
        await admin(http, base, "stream", {"down": False})
        async with http.ws_connect(ws_url(sim)) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            assert (await next_event(ws))["s"] == "BTCUSDT"

    run(body)


def test_outage_closes_sockets_and_refuses_upgrades(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-b")

    async def body(http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(ws_url(sim, "sim-b")) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])
            await admin(http, base, "outage", {"down": True})
            for _ in range(50):
                msg = await ws.receive(timeout=RECV_TIMEOUT_S)
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws_url(sim, "sim-b"))
        assert refused.value.status == 503
        await admin(http, base, "outage", {"down": False})
        async with http.ws_connect(ws_url(sim, "sim-b")) as ws:
            await request(ws, "SUBSCRIBE", [STREAM])

    run(body)


def test_state_counts_connected_clients(sim: SimulatorThread) -> None:
    base = sim.base_url("sim-a")

    async def state() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/admin/state") as resp:
            result: dict[str, Any] = await resp.json()
            return result

    async def body(http: aiohttp.ClientSession) -> None:
        assert (await state())["wsClients"] == 0
        assert (await state())["streamDown"] is False
        async with http.ws_connect(ws_url(sim)) as one, http.ws_connect(ws_url(sim)) as two:
            await request(one, "LIST_SUBSCRIPTIONS")
            await request(two, "LIST_SUBSCRIPTIONS")
            assert (await state())["wsClients"] == 2
        for _ in range(100):
            if (await state())["wsClients"] == 0:
                break
            await asyncio.sleep(0.02)
        assert (await state())["wsClients"] == 0

    run(body)


def test_changed_prices_and_touched_levels() -> None:
    def lv(price: str, qty: str) -> PriceLevel:
        return PriceLevel(Decimal(price), Decimal(qty))

    before = (lv("100.00", "1"), lv("99.00", "2"), lv("98.00", "3"))
    after = (lv("101.00", "1"), lv("100.00", "1.0"), lv("99.00", "5"))
    changed = changed_prices(before, after)
    assert changed == {Decimal("101"), Decimal("99"), Decimal("98")}
    assert touched_levels(changed, after, descending=True) == (
        lv("101.00", "1"),
        lv("99.00", "5"),
        lv("98.00", "0"),
    )
    assert changed_prices(after, after) == frozenset()
