"""The one spot account of a simulated venue: free and locked balances per asset.

Open limit orders lock what they may spend (quote for a buy, base for a sell), as Binance
does, so ``free`` is what a new order can use. Every method runs on the simulator's event
loop; nothing here is thread-safe or needs to be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

_ZERO = Decimal(0)


class InsufficientBalanceError(Exception):
    """The account lacks the free amount an order needs."""


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset's balance."""

    asset: str
    free: Decimal
    locked: Decimal


class SpotAccount:
    """Free and locked amounts per asset; an asset never seen holds zero."""

    def __init__(self, initial: Mapping[str, Decimal]) -> None:
        """Start with ``initial`` free and nothing locked."""
        self._free: dict[str, Decimal] = dict(initial)
        self._locked: dict[str, Decimal] = {}

    def free(self, asset: str) -> Decimal:
        """What new orders can spend of ``asset``."""
        return self._free.get(asset, _ZERO)

    def locked(self, asset: str) -> Decimal:
        """What open orders hold of ``asset``."""
        return self._locked.get(asset, _ZERO)

    def balances(self) -> list[Balance]:
        """Every asset the account has ever held, sorted by code (zeros included)."""
        assets = sorted(self._free.keys() | self._locked.keys())
        return [Balance(a, self.free(a), self.locked(a)) for a in assets]

    def require_free(self, asset: str, amount: Decimal) -> None:
        """Raise :class:`InsufficientBalanceError` unless ``amount`` of ``asset`` is free."""
        if amount > self.free(asset):
            raise InsufficientBalanceError(f"{asset}: need {amount}, free {self.free(asset)}")

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked (an open order's reservation)."""
        self.require_free(asset, amount)
        self._free[asset] = self.free(asset) - amount
        self._locked[asset] = self.locked(asset) + amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Give ``amount`` of a reservation back to free."""
        if amount > self.locked(asset):
            raise ValueError(f"{asset}: unlocking {amount}, only {self.locked(asset)} locked")
        self._locked[asset] = self.locked(asset) - amount
        self._free[asset] = self.free(asset) + amount

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        """Pay ``amount`` out of a reservation (a fill of an order that locked it)."""
        if amount > self.locked(asset):
            raise ValueError(f"{asset}: spending {amount}, only {self.locked(asset)} locked")
        self._locked[asset] = self.locked(asset) - amount

    def credit(self, asset: str, amount: Decimal) -> None:
        """Add ``amount`` to free (what a fill delivers, net of its fee)."""
        self._free[asset] = self.free(asset) + amount

    def set_free(self, asset: str, amount: Decimal) -> None:
        """Set the free amount outright (the admin's "the account now holds X")."""
        if amount < 0:
            raise ValueError(f"{asset}: a balance cannot be negative")
        self._free[asset] = amount
