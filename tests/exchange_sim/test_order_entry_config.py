"""The order-entry settings of a simulated venue: credentials, fee and starting balances."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from exchange_sim.config import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    SimVenueConfig,
    default_sim_config,
    default_symbols,
)


def venue(**overrides: Any) -> SimVenueConfig:
    return SimVenueConfig(name="v", port=0, seed=1, symbols=default_symbols(), **overrides)


def test_defaults_are_the_demo_credentials_binance_fee_and_demo_balances() -> None:
    for v in default_sim_config().venues:
        assert (v.api_key, v.api_secret) == (DEMO_API_KEY, DEMO_API_SECRET)
        assert v.taker_fee_bps == Decimal(10)
        assert dict(v.initial_balances) == {
            "BTC": Decimal(100),
            "ETH": Decimal(2000),
            "USDT": Decimal(10_000_000),
        }


def test_balances_are_copied_so_the_callers_dict_cannot_change_a_venue() -> None:
    given = {"BTC": Decimal(1)}
    v = venue(initial_balances=given)
    given["BTC"] = Decimal(999)
    assert v.initial_balances["BTC"] == Decimal(1)
    with pytest.raises(TypeError):
        v.initial_balances["BTC"] = Decimal(2)  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api_key": ""}, "api_key"),
        ({"api_secret": ""}, "api_secret"),
        ({"taker_fee_bps": Decimal(-1)}, "taker_fee_bps"),
        ({"taker_fee_bps": 10}, "taker_fee_bps"),
        ({"initial_balances": {"btc": Decimal(1)}}, "asset"),
        ({"initial_balances": {"BTC": Decimal(-1)}}, "non-negative"),
        ({"initial_balances": {"BTC": 1.5}}, "non-negative"),
    ],
)
def test_bad_order_entry_settings_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        venue(**overrides)
