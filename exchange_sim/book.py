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
"""

from __future__ import annotations

import random
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
        self._snapshot = self._build()

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

    def snapshot(self) -> BookSnapshot:
        """The current immutable book."""
        return self._snapshot

    def step(self) -> BookSnapshot:
        """Advance the walk by one update: move reference and basis, rebuild the book."""
        cfg = self._config
        shock = _gauss(self._ref_rng) * cfg.volatility_bps / _BPS
        # Keep the reference's precision bounded so Decimal digits do not pile up.
        self._reference = quantize_to_step(self._reference * (1 + shock), cfg.tick / _BPS)
        basis_shock = _gauss(self._rng) * cfg.volatility_bps * _BASIS_VOL_RATIO
        basis = self._basis_bps * (1 - _BASIS_REVERSION) + basis_shock
        self._basis_bps = max(-_MAX_BASIS_BPS, min(_MAX_BASIS_BPS, basis)).quantize(_SAMPLE_STEP)
        return self._bump()

    def set_mid(self, mid: Decimal) -> BookSnapshot:
        """Re-centre the book on ``mid`` exactly (basis reset to zero) and rebuild it."""
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
        self._reference = mid
        self._basis_bps = Decimal(0)
        return self._bump()

    def shift_mid_bps(self, bps: Decimal) -> BookSnapshot:
        """Move the mid by ``bps`` basis points (rounded to the tick) and rebuild."""
        if not isinstance(bps, Decimal) or not bps.is_finite() or bps <= -_BPS:
            raise ValueError(f"shift must be a finite Decimal above -10000 bps, got {bps!r}")
        try:
            target = quantize_to_step(self.mid * (1 + bps / _BPS), self._config.tick)
        except InvalidOperation:
            raise ValueError(f"shift of {bps} bps is out of range") from None
        if target <= 0:
            raise ValueError(f"shifting by {bps} bps leaves no positive price")
        return self.set_mid(target)

    def _bump(self) -> BookSnapshot:
        self._last_update_id += 1
        self._snapshot = self._build()
        return self._snapshot

    def _current_mid(self) -> Decimal:
        raw = self._reference * (1 + self._basis_bps / _BPS)
        return max(self._config.tick, quantize_to_step(raw, self._config.tick))

    def _build(self) -> BookSnapshot:
        cfg = self._config
        rng = self._rng
        mid = self._current_mid()
        half_spread = cfg.tick * rng.randint(1, _MAX_HALF_SPREAD_TICKS)
        gap = max(cfg.tick, quantize_to_step(mid * _LEVEL_GAP_BPS / _BPS, cfg.tick, ROUND_DOWN))
        bids: list[PriceLevel] = []
        asks: list[PriceLevel] = []
        bid_price = mid - half_spread
        ask_price = mid + half_spread
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
        qty = quantize_to_step(notional / price, cfg.lot, ROUND_DOWN)
        # Every level must be a valid order on its own: at least one lot and at least
        # the minimum notional.
        floor_qty = quantize_to_step(cfg.min_notional / price, cfg.lot, ROUND_UP)
        return max(qty, floor_qty, cfg.lot)
