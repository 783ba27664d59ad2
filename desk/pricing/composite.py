"""The composite of healthy venue books: which venues count, and their prices for a size."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar, cast

from desk.config.model import MarketDataConfig, PricingConfig, VenueConfig
from desk.marketdata.snapshot import Level, VenueBook
from desk.pricing.depth import consolidate, vwap_or_whole_book, with_taker_fee
from desk.pricing.outliers import OutlierFilter


class NoMarket(Exception):
    """Too few healthy venues to price; ``reason`` says why for the reject text."""

    def __init__(self, reason: str, excluded: Mapping[str, str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.excluded = excluded


@dataclass(frozen=True, slots=True)
class SizedComposite:
    """Weighted averages of each venue's VWAP to one size; ``fair`` is their mid."""

    bid: Decimal
    ask: Decimal

    @property
    def fair(self) -> Decimal:
        return (self.bid + self.ask) / 2


# Values one HealthyBooks remembers (it lives until a venue's book changes): composites and
# prices for that many sizes, tiers and inventories.
_REMEMBERED = 64
_MISSING = object()
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class HealthyBooks:
    """The venues that passed every check for one symbol at one instant.

    Its books never change, so what is derived from them is computed once and remembered in
    ``memo``: every RFQ between two book updates reuses the same consolidated levels.
    """

    symbol: str
    books: tuple[VenueBook, ...]
    weights: Mapping[str, Decimal]
    taker_fee_bps: Mapping[str, Decimal]
    excluded: Mapping[str, str]
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def venues_used(self) -> tuple[str, ...]:
        return tuple(sorted(b.venue for b in self.books))

    def remember(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """``make()``, computed once per ``key`` for these books (up to a bound, so that a
        stream of odd sizes cannot grow it: past the bound each call computes afresh).

        ``key`` must name everything ``make`` reads besides these books. Threads may race
        here; they build equal values, and either may stay.
        """
        found = self.memo.get(key, _MISSING)
        if found is _MISSING:
            found = make()
            if len(self.memo) < _REMEMBERED:
                self.memo[key] = found
        return cast(_T, found)

    def at_size(self, qty: Decimal) -> SizedComposite:
        """Per-venue VWAP to ``qty`` on each side, averaged with the configured weights."""
        return self.remember(("at_size", qty), lambda: self._at_size(qty))

    def _at_size(self, qty: Decimal) -> SizedComposite:
        total = sum((self.weights[b.venue] for b in self.books), Decimal(0))
        bid = sum(
            (vwap_or_whole_book(b.bids, qty) * self.weights[b.venue] for b in self.books),
            Decimal(0),
        )
        ask = sum(
            (vwap_or_whole_book(b.asks, qty) * self.weights[b.venue] for b in self.books),
            Decimal(0),
        )
        return SizedComposite(bid=bid / total, ask=ask / total)

    def top(self) -> SizedComposite:
        """The weighted best bid and best ask (the composite at the smallest size)."""
        found: SizedComposite | None = self.memo.get("top")
        if found is None:
            found = self.memo["top"] = self._top()
        return found

    def _top(self) -> SizedComposite:
        total = sum((self.weights[b.venue] for b in self.books), Decimal(0))
        return SizedComposite(
            bid=sum((b.best_bid * self.weights[b.venue] for b in self.books), Decimal(0)) / total,
            ask=sum((b.best_ask * self.weights[b.venue] for b in self.books), Decimal(0)) / total,
        )

    def hedge_levels(self, *, buying: bool) -> tuple[Level, ...]:
        """Every healthy venue's levels on the side the desk would hedge on, net of fees."""
        key = ("hedge_levels", buying)
        found: tuple[Level, ...] | None = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self._hedge_levels(buying)
        return found

    def _hedge_levels(self, buying: bool) -> tuple[Level, ...]:
        return consolidate(
            (
                with_taker_fee(
                    b.asks if buying else b.bids, self.taker_fee_bps[b.venue], buying=buying
                )
                for b in self.books
            ),
            buying=buying,
        )


class CompositeBuilder:
    """Applies staleness, crossed/empty-book and outlier checks to the venues' books."""

    def __init__(
        self,
        venues: Sequence[VenueConfig],
        market_data: MarketDataConfig,
        pricing: PricingConfig,
    ) -> None:
        self._weights = {v.name: v.weight for v in venues}
        self._fees = {v.name: v.taker_fee_bps for v in venues}
        self._stale_after_s = market_data.stale_after_ms / 1000
        self._min_venues = market_data.min_venues
        self._outliers = OutlierFilter(pricing.outlier_band_bps, pricing.outlier_readmit_bps)
        self._last: dict[str, _Verdict] = {}

    def healthy(self, symbol: str, books: Sequence[VenueBook], now_mono: float) -> HealthyBooks:
        """The usable books for ``symbol``; raises NoMarket when fewer than the minimum."""
        usable: list[VenueBook] = []
        excluded: dict[str, str] = {}
        for book in books:
            if book.venue not in self._weights:
                continue
            age = now_mono - book.changed_mono
            if not book.bids or not book.asks:
                excluded[book.venue] = "empty"
            elif age > self._stale_after_s:
                excluded[book.venue] = f"stale {age:.1f}s"
            elif book.crossed:
                excluded[book.venue] = "crossed"
            else:
                usable.append(book)
        # Between two book updates every RFQ sees the same books: reuse the last verdict (the
        # outlier filter gives the same answer twice on the same books, see OutlierFilter).
        ids = tuple(id(book) for book in usable)
        last = self._last.get(symbol)
        if last is None or last.ids != ids or last.excluded_before != excluded:
            last = _Verdict(
                ids, tuple(usable), dict(excluded), self._judge(symbol, usable, excluded)
            )
            self._last[symbol] = last
        if isinstance(last.result, HealthyBooks):
            return last.result
        reason, why = last.result
        raise NoMarket(reason, dict(why))

    def _judge(
        self, symbol: str, usable: list[VenueBook], excluded: dict[str, str]
    ) -> HealthyBooks | tuple[str, dict[str, str]]:
        kept, outliers = self._outliers.split(symbol, usable)
        excluded = {**excluded, **outliers}
        if len(kept) < self._min_venues:
            detail = ", ".join(f"{v} {why}" for v, why in sorted(excluded.items())) or "no data"
            reason = (
                f"{len(kept)} healthy venue(s) for {symbol}, need {self._min_venues} ({detail})"
            )
            return reason, excluded
        return HealthyBooks(
            symbol=symbol,
            books=tuple(kept),
            weights=self._weights,
            taker_fee_bps=self._fees,
            excluded=excluded,
        )


@dataclass(frozen=True, slots=True)
class _Verdict:
    """The last answer for one symbol and the books it was given (held, so their ids stay
    theirs while the verdict is kept)."""

    ids: tuple[int, ...]
    usable: tuple[VenueBook, ...]
    excluded_before: dict[str, str]
    result: HealthyBooks | tuple[str, dict[str, str]]
