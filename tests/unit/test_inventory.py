"""The desk's inventory: client fills by delta, the hedger's fills by total."""

from __future__ import annotations

from decimal import Decimal

from desk.positions.inventory import Inventory


def test_net_is_client_fills_plus_the_hedgers_total() -> None:
    inventory = Inventory({"BTC": Decimal("-1.5")}, {"BTC": Decimal("1.2"), "ETH": Decimal(3)})
    assert inventory.net("BTC") == Decimal("-0.3")
    assert inventory.net("ETH") == 3
    assert inventory.net("SOL") == 0
    assert inventory.apply("BTC", Decimal("-0.5")) == Decimal("-0.8")
    assert inventory.set_hedged("BTC", Decimal(2)) == 0
    assert inventory.snapshot() == {"BTC": 0, "ETH": 3}


def test_a_repeated_or_late_total_counts_once() -> None:
    inventory = Inventory({"BTC": Decimal(-1)})
    inventory.set_hedged("BTC", Decimal("0.4"))
    inventory.set_hedged("BTC", Decimal("0.4"))  # the same report twice
    assert inventory.net("BTC") == Decimal("-0.6")
    inventory.set_hedged("BTC", Decimal(1))  # a restarted hedger's total from the ledger
    inventory.apply("BTC", Decimal("0.25"))
    assert inventory.net("BTC") == Decimal("0.25")
