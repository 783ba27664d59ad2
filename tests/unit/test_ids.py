"""desk.quoting.ids: ids unique within a boot and across boots, prefixed with the boot epoch."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from desk.quoting.ids import IdFactory


def test_ids_when_made_then_prefixed_with_kind_and_boot_epoch() -> None:
    ids = IdFactory(42)

    assert ids.quote_id() == "Q42-1"
    assert ids.order_id() == "O42-2"
    assert ids.exec_id() == "E42-3"
    assert ids.boot_epoch == 42


def test_ids_when_many_threads_draw_then_all_unique() -> None:
    ids = IdFactory(7)

    with ThreadPoolExecutor(max_workers=8) as pool:
        drawn = list(pool.map(lambda _: ids.exec_id(), range(2000)))

    assert len(set(drawn)) == 2000
    assert all(i.startswith("E7-") for i in drawn)


def test_ids_when_two_boots_then_never_collide() -> None:
    first, second = IdFactory(1), IdFactory(2)
    # Also across the "1-1x" / "11-x" boundary: the dash keeps epochs apart.
    eleventh = IdFactory(11)

    drawn = [f.quote_id() for f in (first, second, eleventh) for _ in range(20)]

    assert len(set(drawn)) == len(drawn)


@pytest.mark.parametrize("epoch", [0, -1])
def test_ids_when_boot_epoch_not_positive_then_refused(epoch: int) -> None:
    with pytest.raises(ValueError, match="boot epoch must be positive"):
        IdFactory(epoch)
