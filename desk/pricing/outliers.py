"""Outlier rejection against the median of the venues, with hysteresis.

As in CF Benchmarks' BRTI methodology: a venue whose mid deviates from the median of all
usable venues by more than the band is excluded, and it is re-admitted only once it is back
well inside the band (``readmit_bps``), so a venue hovering at the edge does not flap in and
out of the composite from one quote to the next.

Given the same books twice, the filter answers the same twice (an excluded venue is judged
against the narrower readmit band, which it already failed; a kept one against the band it
passed), so a caller may reuse the last verdict while the books have not changed.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Sequence
from decimal import Decimal

from desk.domain.money import fmt
from desk.marketdata.snapshot import VenueBook
from desk.pricing.depth import BPS


class OutlierFilter:
    """Remembers which (symbol, venue) pairs are excluded; safe to call from any thread."""

    def __init__(self, band_bps: Decimal, readmit_bps: Decimal) -> None:
        if not 0 <= readmit_bps < band_bps:
            raise ValueError(f"readmit {readmit_bps} must be in [0, band {band_bps})")
        self._band = band_bps
        self._readmit = readmit_bps
        self._excluded: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def split(
        self, symbol: str, books: Sequence[VenueBook]
    ) -> tuple[list[VenueBook], dict[str, str]]:
        """The books to keep and, for the others, why they were left out."""
        if not books:
            return [], {}
        median = statistics.median(b.mid for b in books)
        kept: list[VenueBook] = []
        excluded: dict[str, str] = {}
        with self._lock:
            for book in books:
                key = (symbol, book.venue)
                deviation = (book.mid - median) / median * BPS
                limit = self._readmit if key in self._excluded else self._band
                if abs(deviation) > limit:
                    self._excluded.add(key)
                    excluded[book.venue] = (
                        f"outlier {fmt(deviation.quantize(Decimal('0.1')))} bps from median "
                        f"{fmt(median)} (limit {fmt(limit)})"
                    )
                else:
                    self._excluded.discard(key)
                    kept.append(book)
        return kept, excluded
