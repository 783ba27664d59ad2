"""The desk's own venue errors: every ccxt exception is translated into one of these at the
adapter, so the hedger decides on retry or failure without knowing ccxt."""

from __future__ import annotations


class VenueError(Exception):
    """Base of every venue failure; ``venue`` names the exchange."""

    def __init__(self, venue: str, message: str) -> None:
        super().__init__(f"{venue}: {message}")
        self.venue = venue


class TransientVenueError(VenueError):
    """Worth retrying later: network trouble, maintenance, a 5xx on a read."""


class RateLimited(TransientVenueError):
    """The venue asked us to slow down (429/418); wait ``retry_after_s`` before the next call."""

    def __init__(self, venue: str, message: str, retry_after_s: float) -> None:
        super().__init__(venue, message)
        self.retry_after_s = retry_after_s


class AmbiguousOrderOutcome(TransientVenueError):
    """An order request failed in a way that does not say whether the order exists (timeout,
    5xx, dropped connection). Resolve by querying its client order id before any resend."""


class PermanentVenueError(VenueError):
    """Retrying the same request cannot succeed: bad symbol, lot size, insufficient balance."""


class InsufficientBalance(PermanentVenueError):
    """The venue account lacks the asset for this order."""
