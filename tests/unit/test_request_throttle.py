"""desk.venues.request_throttle: ccxt's leaky bucket with idle time credited, on a fake clock."""

from __future__ import annotations

import asyncio

from desk.venues.request_throttle import RequestThrottle

# Binance as ccxt configures it: rateLimit 50 ms, so 1/50 token per ms, capacity 1, cost 1.
BUCKET = {"refillRate": 1 / 50, "capacity": 1, "cost": 1}


class FakeTime:
    """A millisecond clock that only moves when the throttle sleeps or the test says so."""

    def __init__(self) -> None:
        self.ms = 1_000.0
        self.slept_s: list[float] = []

    def now_ms(self) -> float:
        return self.ms

    async def sleep(self, seconds: float) -> None:
        self.slept_s.append(seconds)
        self.ms += seconds * 1000
        await asyncio.sleep(0)


def throttle(clock: FakeTime) -> RequestThrottle:
    return RequestThrottle(BUCKET, now_ms=clock.now_ms, sleep=clock.sleep)


def test_first_request_goes_at_once_and_is_charged_its_cost() -> None:
    clock = FakeTime()
    gate = throttle(clock)

    asyncio.run(gate(1))

    assert clock.slept_s == []
    assert gate.tokens == 0


def test_back_to_back_requests_wait_out_the_cost_exactly() -> None:
    clock = FakeTime()
    gate = throttle(clock)

    async def three() -> None:
        for _ in range(3):
            await gate(1)

    asyncio.run(three())

    # 1 → 0 → -1: the third waits until the count is back to 0, i.e. 50 ms.
    assert clock.slept_s == [0.05]


def test_request_after_an_idle_pause_goes_at_once() -> None:
    # ccxt's throttler restarts its refill clock when its queue empties, so this request
    # would wait 50 ms there although the venue has been idle for 60.
    clock = FakeTime()
    gate = throttle(clock)

    async def paced() -> None:
        await gate(1)
        await gate(1)
        clock.ms += 60
        await gate(1)

    asyncio.run(paced())

    assert clock.slept_s == []


def test_idle_credit_is_capped_at_capacity() -> None:
    clock = FakeTime()
    gate = throttle(clock)
    clock.ms += 3_600_000

    async def burst() -> None:
        for _ in range(3):
            await gate(1)

    asyncio.run(burst())

    assert gate.tokens <= 0
    assert clock.slept_s == [0.05]


def test_endpoint_cost_is_charged_and_none_means_the_default() -> None:
    clock = FakeTime()
    gate = throttle(clock)

    async def two() -> None:
        await gate(None)  # default cost 1: 1 → 0
        await gate(20)  # a heavy endpoint: 0 → -20

    asyncio.run(two())

    assert gate.tokens == -20
    asyncio.run(gate(1))
    assert clock.slept_s == [1.0]  # 20 tokens at 1/50 per ms


def test_concurrent_requests_pass_in_arrival_order() -> None:
    clock = FakeTime()
    gate = throttle(clock)
    passed: list[int] = []

    async def request(n: int) -> None:
        await gate(1)
        passed.append(n)

    async def all_at_once() -> None:
        await asyncio.gather(*(request(n) for n in range(4)))

    asyncio.run(all_at_once())

    assert passed == [0, 1, 2, 3]
    assert clock.slept_s == [0.05, 0.05]


def test_clock_going_backwards_creates_no_tokens() -> None:
    clock = FakeTime()
    gate = throttle(clock)
    asyncio.run(gate(1))
    asyncio.run(gate(1))
    clock.ms -= 500

    assert gate.tokens == -1
