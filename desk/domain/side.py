"""Sides, always from the counterparty's point of view."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """The counterparty's side: BUY means the client buys and the desk sells (offers)."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY
