"""The record of what a quote's prices were made from (logged and kept for the audit trail)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from desk.domain.money import fmt


@dataclass(frozen=True, slots=True)
class PricingInputs:
    """Everything a quote's prices came from, for the log and the audit trail."""

    venues_used: tuple[str, ...]
    venues_excluded: Mapping[str, str]
    fair: Decimal
    composite_bid: Decimal
    composite_ask: Decimal
    top_bid: Decimal
    top_ask: Decimal
    hedge_bid: Decimal
    hedge_ask: Decimal
    margin_bps: Decimal
    sigma_bps: Decimal
    vol_charge_bps: Decimal
    inventory: Decimal
    skew_bps: Decimal
    bid_size_premium: Decimal
    offer_size_premium: Decimal
    penalised_qty: Decimal
    tier: str
    _log: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def as_log(self) -> dict[str, Any]:
        """JSON-ready fields (decimals as strings, rounded for reading, never floats).

        Built once and shared (the quote's log event and its audit record both show it):
        read it, never change it.
        """
        if self._log is None:
            # Frozen: the cache is the one attribute set after construction. Two threads
            # racing here build equal dicts, so either one may stay.
            object.__setattr__(self, "_log", self._build_log())
        assert self._log is not None  # noqa: S101 - set just above
        return self._log

    def _build_log(self) -> dict[str, Any]:
        return {
            "venues_used": list(self.venues_used),
            "venues_excluded": dict(self.venues_excluded),
            "composite_mid": show(self.fair),
            "composite_bid": show(self.composite_bid),
            "composite_ask": show(self.composite_ask),
            "top_bid": show(self.top_bid),
            "top_ask": show(self.top_ask),
            "hedge_bid": show(self.hedge_bid),
            "hedge_ask": show(self.hedge_ask),
            "margin_bps": show(self.margin_bps),
            "sigma_bps": show(self.sigma_bps),
            "vol_charge_bps": show(self.vol_charge_bps),
            "inventory": fmt(self.inventory),
            "skew_bps": show(self.skew_bps),
            "bid_size_premium": show(self.bid_size_premium),
            "offer_size_premium": show(self.offer_size_premium),
            "penalised_qty": fmt(self.penalised_qty),
            "tier": self.tier,
        }


def show(value: Decimal) -> str:
    """``value`` to 4 decimals without trailing zeros: what ``fmt`` gives of it, faster."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
