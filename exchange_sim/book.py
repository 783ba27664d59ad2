"""The seeded, moving order book of one symbol on one simulated venue.

The mid is ``reference * (1 + basis)``:

* ``reference`` is a random walk driven by an RNG keyed only by the simulator's
  reference seed and the symbol, so every venue quoting that symbol walks the same path
  (given the same number of steps);
* ``basis`` is a small mean-reverting offset in bps driven by the venue's own seed, so
  venues are close to each other but never identical.

Around the mid sit ``levels`` price levels a side: a spread of a few ticks, level gaps of
about half a basis point, and sizes that grow with distance from the mid. Randomness
comes from ``random.Random`` but is converted to ``Decimal`` straight away, and every
price/quantity is quantised to the symbol's tick/lot, so no float reaches a money value.
Stepping is manual (:meth:`SimOrderBook.step`); the venue's background task calls it, and
tests call it directly to check determinism without timing.

Scenario settings (admin API) bend the book without breaking the walk: a per-book
volatility override, a persistent ``offset_bps`` displacement of the mid from the walk, a
crossed layout (best bid above best ask) and a ``depth_factor`` scaling every size.
Listeners (the depth stream) hear of every update with the prices it changed, which is what
a Binance diff event is made of.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation

from exchange_sim.config import SimSymbolConfig

_BPS = Decimal("10000")
# Resolution at which RNG floats become Decimals; finer adds nothing to a simulation.
_SAMPLE_STEP = Decimal("0.000001")
# Venues start this far (at most, either way) from the reference.
_INITIAL_BASIS_BPS = Decimal("3")
# Per-step pull of the basis back to zero, and its hard cap: keeps venues within a few
# bps of each other however long the simulator runs.
_BASIS_REVERSION = Decimal("0.05")
_BASIS_VOL_RATIO = Decimal("0.3")
_MAX_BASIS_BPS = Decimal("10")
# Half spread is 1..3 ticks, so the spread is "a few ticks" like a liquid spot book.
_MAX_HALF_SPREAD_TICKS = 3
# Distance between adjacent levels, as bps of the mid (1 or 2 such gaps, at random).
_LEVEL_GAP_BPS = Decimal("0.5")
# Top-of-book notional as a multiple of the venue's minimum notional: Binance's minimum is
# about 5 USD in every quote asset, so this scales sensibly for non-USD quotes too.
_TOP_LEVEL_MIN_NOTIONALS = Decimal("3000")
# Each level further out holds this much more notional than the top (linear growth).
_SIZE_GROWTH_PER_LEVEL = Decimal("0.35")
# Bounds of the scenario settings: wide enough for any "wild" scenario, narrow enough that
# prices stay positive and Decimal arithmetic stays far from its context limits.
_MAX_VOLATILITY_BPS = Decimal("1000")
_MAX_OFFSET_BPS = Decimal("10000")
_MAX_DEPTH_FACTOR = Decimal("1000")


@dataclass(frozen=True, slots=True)
class PriceLevel:
    """One price level: a price and the quantity resting there."""

    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """An immutable view of a book: bids best (highest) first, asks best (lowest) first."""

    symbol: str
    last_update_id: int
    mid: Decimal
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]

    @property
    def best_bid(self) -> PriceLevel | None:
        """Highest bid, or None when the bid side is empty."""
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> PriceLevel | None:
        """Lowest ask, or None when the ask side is empty."""
        return self.asks[0] if self.asks else None


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """One update of a book: the new snapshot and the prices whose quantity it changed.

    A price is "changed" when it is new, gone, or its quantity differs from the update before.
    """

    snapshot: BookSnapshot
    changed_bids: frozenset[Decimal]
    changed_asks: frozenset[Decimal]


BookListener = Callable[[BookUpdate], None]


def changed_prices(
    before: tuple[PriceLevel, ...], after: tuple[PriceLevel, ...]
) -> frozenset[Decimal]:
    """Prices of one side that are new, gone, or carry a different quantity."""
    old = {lv.price: lv.qty for lv in before}
    new = {lv.price: lv.qty for lv in after}
    return frozenset(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))


def quantize_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """``value`` rounded to a multiple of ``step`` (with ``step``'s exponent)."""
    units = (value / step).to_integral_value(rounding=rounding)
    return (units * step).quantize(step)


def _gauss(rng: random.Random) -> Decimal:
    """A standard normal shock as a Decimal (the float never leaves this function)."""
    return Decimal(rng.gauss(0.0, 1.0)).quantize(_SAMPLE_STEP)


def _uniform(rng: random.Random, low: Decimal, high: Decimal) -> Decimal:
    """A uniform Decimal in [low, high], drawn from integers so no float is involved."""
    scale = 1_000_000
    return low + (high - low) * Decimal(rng.randint(0, scale)) / scale


class SimOrderBook:
    """A multi-level order book whose mid follows a seeded random walk.

    Not thread-safe for writers: exactly one thread (the simulator's event loop) may call
    the mutating methods. Readers get immutable :class:`BookSnapshot` objects, so reading
    from other threads is safe.
    """

    def __init__(self, config: SimSymbolConfig, seed: int, reference_seed: int = 0) -> None:
        """Build the initial book for ``config`` from the venue ``seed``."""
        self._config = config
        # Seeding with a str is deterministic across processes (it is hashed with
        # SHA-512, unlike hash(str)), which is what makes runs reproducible.
        self._ref_rng = random.Random(f"exchange_sim.ref:{reference_seed}:{config.symbol}")  # noqa: S311 - simulation, not crypto
        self._rng = random.Random(f"exchange_sim.venue:{seed}:{config.symbol}")  # noqa: S311 - simulation, not crypto
        self._reference = config.mid
        self._basis_bps = _uniform(self._rng, -_INITIAL_BASIS_BPS, _INITIAL_BASIS_BPS)
        # Real Binance ids are large; starting high catches clients that assume small ones.
        self._last_update_id = self._rng.randint(1_000_000, 9_999_999)
        self._volatility_bps = config.volatility_bps
        self._offset_bps = Decimal(0)
        self._crossed = False
        self._depth_factor = Decimal(1)
        self._snapshot = self._build()
        self._listeners: list[BookListener] = []

    @property
    def config(self) -> SimSymbolConfig:
        """The symbol configuration this book was built from."""
        return self._config

    @property
    def mid(self) -> Decimal:
        """Current mid, quantised to the tick."""
        return self._snapshot.mid

    @property
    def last_update_id(self) -> int:
        """Binance-style ``lastUpdateId``; grows by one on every change."""
        return self._snapshot.last_update_id

    @property
    def volatility_bps(self) -> Decimal:
        """Standard deviation of one walk step, in bps (the config's unless overridden)."""
        return self._volatility_bps

    @property
    def offset_bps(self) -> Decimal:
        """Persistent displacement of the mid from the walk, in bps (0 = none)."""
        return self._offset_bps

    @property
    def crossed(self) -> bool:
        """Whether the book is built crossed (best bid above best ask)."""
        return self._crossed

    @property
    def depth_factor(self) -> Decimal:
        """Multiplier on every level's size (1 = normal depth)."""
        return self._depth_factor

    def snapshot(self) -> BookSnapshot:
        """The current immutable book."""
        return self._snapshot

    def add_listener(self, listener: BookListener) -> None:
        """Call ``listener`` with every future update (on the simulator's loop)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: BookListener) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def step(self) -> BookSnapshot:
        """Advance the walk by one update: move reference and basis, rebuild the book."""
        cfg = self._config
        shock = _gauss(self._ref_rng) * self._volatility_bps / _BPS
        # Keep the reference's precision bounded so Decimal digits do not pile up.
        self._reference = quantize_to_step(self._reference * (1 + shock), cfg.tick / _BPS)
        basis_shock = _gauss(self._rng) * self._volatility_bps * _BASIS_VOL_RATIO
        basis = self._basis_bps * (1 - _BASIS_REVERSION) + basis_shock
        self._basis_bps = max(-_MAX_BASIS_BPS, min(_MAX_BASIS_BPS, basis)).quantize(_SAMPLE_STEP)
        return self._bump()

    def set_mid(self, mid: Decimal) -> BookSnapshot:
        """Re-centre the book on ``mid`` exactly (basis reset to zero) and rebuild it."""
        return self.adjust(mid=mid)

    def shift_mid_bps(self, bps: Decimal) -> BookSnapshot:
        """Move the mid by ``bps`` basis points (rounded to the tick) and rebuild."""
        return self.adjust(shift_bps=bps)

    def adjust(
        self,
        *,
        mid: Decimal | None = None,
        shift_bps: Decimal | None = None,
        volatility_bps: Decimal | None = None,
        offset_bps: Decimal | None = None,
        crossed: bool | None = None,
        depth_factor: Decimal | None = None,
    ) -> BookSnapshot:
        """Apply any mix of scenario changes at once, then rebuild with one update id.

        Everything is validated before anything changes (a ``ValueError`` leaves the book
        as it was). ``offset_bps`` applies first, so ``mid``/``shift_bps`` in the same call
        set or move the mid clients see; the walk's reference is re-based so that the
        displaced mid is exactly ``mid``. ``mid`` and ``shift_bps`` exclude each other.
        """
        if mid is not None and shift_bps is not None:
            raise ValueError("give mid or shift_bps, not both")
        vol = self._volatility_bps if volatility_bps is None else _checked_vol(volatility_bps)
        offset = self._offset_bps if offset_bps is None else _checked_offset(offset_bps)
        factor = self._depth_factor if depth_factor is None else _checked_depth(depth_factor)
        reference, basis = self._reference, self._basis_bps
        if shift_bps is not None:
            mid = self._shift_target(self._mid_of(reference, basis, offset), shift_bps)
        if mid is not None:
            reference, basis = self._rebased(mid, offset), Decimal(0)
        self._volatility_bps, self._offset_bps, self._depth_factor = vol, offset, factor
        self._reference, self._basis_bps = reference, basis
        if crossed is not None:
            self._crossed = crossed
        return self._bump()

    def _shift_target(self, current: Decimal, bps: Decimal) -> Decimal:
        if not isinstance(bps, Decimal) or not bps.is_finite() or bps <= -_BPS:
            raise ValueError(f"shift must be a finite Decimal above -10000 bps, got {bps!r}")
        try:
            target = quantize_to_step(current * (1 + bps / _BPS), self._config.tick)
        except InvalidOperation:
            raise ValueError(f"shift of {bps} bps is out of range") from None
        if target <= 0:
            raise ValueError(f"shifting by {bps} bps leaves no positive price")
        return target

    def _rebased(self, mid: Decimal, offset_bps: Decimal) -> Decimal:
        """The walk reference that puts the displaced mid exactly on ``mid``."""
        if not isinstance(mid, Decimal) or not mid.is_finite() or mid <= 0:
            raise ValueError(f"mid must be a positive finite Decimal, got {mid!r}")
        tick = self._config.tick
        try:
            on_grid = quantize_to_step(mid, tick) == mid
        except InvalidOperation:
            # More digits than the Decimal context holds: no sane price looks like that.
            raise ValueError(f"mid {mid} is out of range") from None
        if not on_grid:
            raise ValueError(f"mid {mid} is not a multiple of the tick {tick}")
        # Quantised like step() does; the error (under 1e-4 of a tick) vanishes when the mid
        # is rounded to the tick.
        return quantize_to_step(mid / (1 + offset_bps / _BPS), tick / _BPS)

    def _bump(self) -> BookSnapshot:
        previous = self._snapshot
        self._last_update_id += 1
        self._snapshot = self._build()
        if self._listeners:
            update = BookUpdate(
                snapshot=self._snapshot,
                changed_bids=changed_prices(previous.bids, self._snapshot.bids),
                changed_asks=changed_prices(previous.asks, self._snapshot.asks),
            )
            for listener in list(self._listeners):
                listener(update)
        return self._snapshot

    def _mid_of(self, reference: Decimal, basis_bps: Decimal, offset_bps: Decimal) -> Decimal:
        raw = reference * (1 + basis_bps / _BPS) * (1 + offset_bps / _BPS)
        return max(self._config.tick, quantize_to_step(raw, self._config.tick))

    def _current_mid(self) -> Decimal:
        return self._mid_of(self._reference, self._basis_bps, self._offset_bps)

    def _build(self) -> BookSnapshot:
        cfg = self._config
        rng = self._rng
        mid = self._current_mid()
        half_spread = cfg.tick * rng.randint(1, _MAX_HALF_SPREAD_TICKS)
        gap = max(cfg.tick, quantize_to_step(mid * _LEVEL_GAP_BPS / _BPS, cfg.tick, ROUND_DOWN))
        bids: list[PriceLevel] = []
        asks: list[PriceLevel] = []
        # A crossed book starts each side on the wrong side of the mid; the levels still
        # walk outwards, so only the top few levels overlap, like a stale venue feed.
        sign = -1 if self._crossed else 1
        bid_price = mid - sign * half_spread
        ask_price = mid + sign * half_spread
        for level in range(cfg.levels):
            if level:
                bid_price -= gap * rng.randint(1, 2)
                ask_price += gap * rng.randint(1, 2)
            # Draw both sizes even when a bid is dropped so the RNG sequence (and thus
            # the rest of the run) does not depend on how close the mid is to zero.
            bid_qty = self._level_qty(level, bid_price)
            ask_qty = self._level_qty(level, ask_price)
            if bid_price > 0:
                bids.append(PriceLevel(bid_price, bid_qty))
            if ask_price > 0:
                asks.append(PriceLevel(ask_price, ask_qty))
        return BookSnapshot(
            symbol=cfg.symbol,
            last_update_id=self._last_update_id,
            mid=mid,
            bids=tuple(bids),
            asks=tuple(asks),
        )

    def _level_qty(self, level: int, price: Decimal) -> Decimal:
        """Quantity for a level: notional grows with distance, jittered by +-40%."""
        cfg = self._config
        jitter = Decimal(self._rng.randint(60, 140)) / 100
        if price <= 0:
            return cfg.lot
        top_notional = cfg.min_notional * _TOP_LEVEL_MIN_NOTIONALS
        if top_notional <= 0:
            # No minimum notional configured: fall back to a size counted in lots.
            top_notional = cfg.lot * 10_000 * price
        notional = top_notional * (1 + _SIZE_GROWTH_PER_LEVEL * level) * jitter
        notional *= self._depth_factor
        qty = quantize_to_step(notional / price, cfg.lot, ROUND_DOWN)
        # Every level must be a valid order on its own: at least one lot and at least
        # the minimum notional.
        floor_qty = quantize_to_step(cfg.min_notional / price, cfg.lot, ROUND_UP)
        return max(qty, floor_qty, cfg.lot)


def _checked_vol(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"volatility_bps must be a finite Decimal, got {value!r}")
    if not 0 <= value <= _MAX_VOLATILITY_BPS:
        raise ValueError(f"volatility_bps must be between 0 and {_MAX_VOLATILITY_BPS}")
    return value


def _checked_offset(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"offset_bps must be a finite Decimal, got {value!r}")
    if not -_BPS < value <= _MAX_OFFSET_BPS:
        raise ValueError(f"offset_bps must be above -10000 and at most {_MAX_OFFSET_BPS}")
    return value


def _checked_depth(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"depth_factor must be a finite Decimal, got {value!r}")
    if not 0 < value <= _MAX_DEPTH_FACTOR:
        raise ValueError(f"depth_factor must be above 0 and at most {_MAX_DEPTH_FACTOR}")
    return value
