"""The day's QuoteReqIDs: repeats refused per counterparty per UTC day, in fixed memory."""

from __future__ import annotations

import threading
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from desk.quoting import quote_req_ids
from desk.quoting.quote_req_ids import QuoteReqIdRegistry

NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_a_repeat_is_refused_for_the_same_counterparty_only() -> None:
    registry = QuoteReqIdRegistry(capacity=64)

    assert registry.first_use("CLIENT1", "R1", NOON)
    assert not registry.first_use("CLIENT1", "R1", NOON + timedelta(hours=1))
    assert registry.first_use("CLIENT2", "R1", NOON)
    assert registry.first_use("CLIENT1", "R2", NOON)
    assert len(registry) == 3


def test_counterparty_and_id_never_run_together() -> None:
    registry = QuoteReqIdRegistry(capacity=64)

    assert registry.first_use("AB", "C", NOON)
    assert registry.first_use("A", "BC", NOON)
    assert registry.first_use("ABC", "", NOON)


def test_ids_are_free_again_the_next_utc_day_and_a_late_request_keeps_today() -> None:
    registry = QuoteReqIdRegistry(capacity=64)
    assert registry.first_use("CLIENT1", "R1", NOON)
    tomorrow = NOON + timedelta(days=1)

    assert registry.first_use("CLIENT1", "R1", tomorrow)
    assert registry.first_use("CLIENT1", "R2", tomorrow)
    # A request stamped yesterday (a late one) does not take the registry back a day.
    assert not registry.first_use("CLIENT1", "R2", NOON)
    assert len(registry) == 2


def test_restored_ids_are_repeats_today_and_free_again_tomorrow() -> None:
    registry = QuoteReqIdRegistry(capacity=64)
    registry.restore(NOON, {"CLIENT1": ["a", "b"], "CLIENT2": ["z"]})

    assert not registry.first_use("CLIENT1", "a", NOON)
    assert not registry.first_use("CLIENT1", "b", NOON)
    assert not registry.first_use("CLIENT2", "z", NOON)
    assert registry.first_use("CLIENT2", "a", NOON)
    assert registry.first_use("CLIENT1", "a", NOON + timedelta(days=1))


def test_past_three_quarters_full_a_table_twice_the_size_is_added_and_every_id_kept() -> None:
    registry = QuoteReqIdRegistry(capacity=8)
    ids = [f"R{n}" for n in range(200)]

    with capture_logs() as events:
        assert all(registry.first_use("CLIENT1", i, NOON) for i in ids)

    assert not any(registry.first_use("CLIENT1", i, NOON) for i in ids)
    assert len(registry) == 200
    grown = [e for e in events if e["event"] == "rfq.quote_req_ids.grown"]
    # Tables of 8, 16, 32, 64, 128 and 256 slots, each added when the one before held 3/4.
    assert [e["tables"] for e in grown] == [2, 3, 4, 5, 6]
    assert [e["capacity"] for e in grown] == [24, 56, 120, 248, 504]
    assert [e["ids"] for e in grown] == [6, 18, 42, 90, 186]
    assert all(e["log_level"] == "warning" for e in grown)


def test_the_next_day_starts_again_at_the_first_size() -> None:
    registry = QuoteReqIdRegistry(capacity=8)
    for n in range(50):
        registry.first_use("CLIENT1", f"R{n}", NOON)

    with capture_logs() as events:
        for n in range(5):
            assert registry.first_use("CLIENT1", f"R{n}", NOON + timedelta(days=1))

    assert len(registry) == 5
    assert events == []  # 5 ids fit in 8 slots: the new day's table is the first size again


def test_memory_is_allocated_up_front_not_per_id() -> None:
    tracemalloc.start()
    try:
        registry = QuoteReqIdRegistry(capacity=1 << 16)  # 1 MiB of slots
        allocated, _ = tracemalloc.get_traced_memory()
        for n in range(20_000):
            registry.first_use("CLIENT1", f"QR-{n:012d}", NOON)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert allocated >= 1 << 20
    # 20 000 ids as strings in a set took over 1.5 MB; the table adds nothing per id.
    assert after - allocated < 16 * 1024
    assert len(registry) == 20_000


def test_an_all_zero_digest_is_still_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    class ZeroDigest:
        def __init__(self, *_: Any, **__: Any) -> None:
            pass

        def digest(self) -> bytes:
            return bytes(16)

    monkeypatch.setattr(quote_req_ids.hashlib, "blake2b", ZeroDigest)
    registry = QuoteReqIdRegistry(capacity=8)

    assert registry.first_use("CLIENT1", "R1", NOON)
    assert not registry.first_use("CLIENT1", "R1", NOON)  # stored, not read as an empty slot


def test_one_id_sent_on_many_threads_at_once_is_first_exactly_once() -> None:
    registry = QuoteReqIdRegistry(capacity=8)  # small: the doubling runs under contention
    start = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        start.wait()
        outcomes = [registry.first_use("CLIENT1", f"R{n}", NOON) for n in range(300)]
        with lock:
            results.extend(outcomes)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == 300
    assert len(registry) == 300


@pytest.mark.parametrize("capacity", [0, 4, 7, 100])
def test_capacity_must_be_a_power_of_two_of_at_least_8(capacity: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        QuoteReqIdRegistry(capacity=capacity)
