"""The seeded moving book, stepped by hand (no timing): determinism and book invariants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_sim.book import BookSnapshot, SimOrderBook, quantize_to_step
from exchange_sim.config import SimSymbolConfig, default_symbols

BTC, ETH = default_symbols()


def _walk(book: SimOrderBook, steps: int) -> list[BookSnapshot]:
    return [book.step() for _ in range(steps)]


def assert_valid_book(snap: BookSnapshot, cfg: SimSymbolConfig) -> None:
    """Sorted, uncrossed, on-grid, tradeable levels with sizes growing outwards."""
    assert len(snap.bids) == cfg.levels
    assert len(snap.asks) == cfg.levels
    bid_prices = [lv.price for lv in snap.bids]
    ask_prices = [lv.price for lv in snap.asks]
    assert bid_prices == sorted(bid_prices, reverse=True)
    assert len(set(bid_prices)) == cfg.levels
    assert ask_prices == sorted(ask_prices)
    assert len(set(ask_prices)) == cfg.levels
    spread_ticks = (ask_prices[0] - bid_prices[0]) / cfg.tick
    assert 2 <= spread_ticks <= 6
    assert bid_prices[0] < snap.mid < ask_prices[0]
    for lv in (*snap.bids, *snap.asks):
        assert isinstance(lv.price, Decimal)
        assert isinstance(lv.qty, Decimal)
        assert lv.price % cfg.tick == 0
        assert lv.qty % cfg.lot == 0
        assert lv.qty >= cfg.lot
        assert lv.qty * lv.price >= cfg.min_notional
    for side in (snap.bids, snap.asks):
        inner = sum(lv.qty for lv in side[:5])
        outer = sum(lv.qty for lv in side[-5:])
        assert outer > inner


def test_same_seed_gives_same_path() -> None:
    a, b = SimOrderBook(BTC, seed=7), SimOrderBook(BTC, seed=7)
    assert a.snapshot() == b.snapshot()
    assert _walk(a, 300) == _walk(b, 300)


def test_different_seed_gives_different_but_close_path() -> None:
    a, b = SimOrderBook(BTC, seed=1), SimOrderBook(BTC, seed=2)
    for snap_a, snap_b in zip(_walk(a, 500), _walk(b, 500), strict=True):
        # Shared reference walk + capped venue basis: never more than ~20 bps apart.
        assert abs(snap_a.mid - snap_b.mid) / snap_a.mid < Decimal("0.002")
    assert a.mid != b.mid
    assert a.snapshot().bids != b.snapshot().bids


def test_reference_seed_changes_the_path() -> None:
    a = SimOrderBook(BTC, seed=1, reference_seed=0)
    b = SimOrderBook(BTC, seed=1, reference_seed=1)
    assert [s.mid for s in _walk(a, 200)] != [s.mid for s in _walk(b, 200)]


def test_step_moves_the_book_and_bumps_last_update_id() -> None:
    book = SimOrderBook(ETH, seed=3)
    start = book.snapshot()
    snaps = _walk(book, 100)
    assert [s.last_update_id for s in snaps] == list(
        range(start.last_update_id + 1, start.last_update_id + 101)
    )
    assert len({s.mid for s in snaps}) > 10
    assert all(s != start for s in snaps)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    steps=st.integers(min_value=0, max_value=60),
    btc=st.booleans(),
)
def test_books_stay_valid(seed: int, steps: int, btc: bool) -> None:
    cfg = BTC if btc else ETH
    book = SimOrderBook(cfg, seed=seed)
    _walk(book, steps)
    assert_valid_book(book.snapshot(), cfg)


def test_set_mid_recentres_the_book() -> None:
    book = SimOrderBook(BTC, seed=1)
    before = book.last_update_id
    snap = book.set_mid(Decimal("61000"))
    assert snap.mid == Decimal("61000")
    assert snap.last_update_id == before + 1
    assert_valid_book(snap, BTC)
    # The walk continues from the new level.
    assert abs(book.step().mid - Decimal("61000")) < Decimal("61000") * Decimal("0.001")


def test_shift_mid_bps() -> None:
    book = SimOrderBook(BTC, seed=1)
    mid = book.mid
    snap = book.shift_mid_bps(Decimal("-50"))
    assert snap.mid == quantize_to_step(mid * Decimal("0.995"), BTC.tick)
    assert_valid_book(snap, BTC)


@pytest.mark.parametrize("mid", [Decimal(0), Decimal(-1), Decimal("60000.001"), Decimal("NaN")])
def test_set_mid_rejects_bad_values(mid: Decimal) -> None:
    with pytest.raises(ValueError, match="mid"):
        SimOrderBook(BTC, seed=1).set_mid(mid)


def test_shift_rejects_minus_100_percent() -> None:
    with pytest.raises(ValueError, match="shift"):
        SimOrderBook(BTC, seed=1).shift_mid_bps(Decimal("-10000"))


def test_tiny_mid_drops_non_positive_bids_but_keeps_asks() -> None:
    book = SimOrderBook(ETH, seed=1)
    snap = book.set_mid(Decimal("0.05"))
    assert snap.asks
    assert len(snap.asks) == ETH.levels
    assert all(lv.price > 0 for lv in snap.bids)
    assert len(snap.bids) < ETH.levels
