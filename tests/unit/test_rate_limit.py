"""desk.risk.rate_limit: a token bucket driven by an explicit monotonic time."""

from __future__ import annotations

from decimal import Decimal

from desk.risk.rate_limit import TokenBucket


def takes(bucket: TokenBucket, now: float, n: int) -> list[bool]:
    return [bucket.try_take(now) for _ in range(n)]


def test_take_when_burst_available_then_burst_granted_and_next_refused() -> None:
    bucket = TokenBucket(Decimal(2), 3, now_mono=100.0)

    assert takes(bucket, 100.0, 4) == [True, True, True, False]


def test_take_when_time_passes_then_tokens_refill_at_rate() -> None:
    bucket = TokenBucket(Decimal(2), 3, now_mono=100.0)
    takes(bucket, 100.0, 3)

    assert bucket.try_take(100.25) is False  # half a token
    assert bucket.try_take(100.5) is True  # 0.5 + 0.5 = one token
    assert bucket.try_take(100.5) is False


def test_take_when_idle_long_then_tokens_capped_at_burst() -> None:
    bucket = TokenBucket(Decimal(10), 2, now_mono=0.0)

    assert takes(bucket, 3600.0, 3) == [True, True, False]


def test_take_when_clock_goes_backwards_then_no_tokens_created() -> None:
    bucket = TokenBucket(Decimal(1), 1, now_mono=50.0)
    assert bucket.try_take(50.0) is True

    assert bucket.try_take(10.0) is False
    assert bucket.try_take(10.5) is False  # measured from the last seen time, not from 10
    assert bucket.try_take(11.0) is True


def test_take_when_fractional_rate_then_refills_slowly() -> None:
    bucket = TokenBucket(Decimal("0.5"), 1, now_mono=0.0)
    assert bucket.try_take(0.0) is True

    assert bucket.try_take(1.9) is False
    assert bucket.try_take(2.0) is True
