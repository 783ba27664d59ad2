"""Simulator configuration: defaults and validation."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from exchange_sim.config import SimConfig, SimSymbolConfig, SimVenueConfig, default_sim_config


def test_default_config_has_three_venues_with_btc_and_eth() -> None:
    cfg = default_sim_config()
    assert [v.name for v in cfg.venues] == ["sim-a", "sim-b", "sim-c"]
    assert [v.port for v in cfg.venues] == [18081, 18082, 18083]
    assert len({v.seed for v in cfg.venues}) == 3
    assert cfg.host == "127.0.0.1"
    by_symbol = {s.symbol: s for s in cfg.venues[0].symbols}
    btc, eth = by_symbol["BTC/USDT"], by_symbol["ETH/USDT"]
    assert (btc.mid, btc.tick, btc.lot) == (Decimal("60000"), Decimal("0.01"), Decimal("0.00001"))
    assert (eth.mid, eth.tick, eth.lot) == (Decimal("3000"), Decimal("0.01"), Decimal("0.0001"))
    assert btc.levels >= 20
    assert eth.levels >= 20
    assert btc.binance_id == "BTCUSDT"


def test_default_config_takes_ports() -> None:
    cfg = default_sim_config(ports=(0, 0, 0))
    assert [v.port for v in cfg.venues] == [0, 0, 0]
    with pytest.raises(ValueError, match="3 ports"):
        default_sim_config(ports=(1, 2))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_only_loopback_hosts_are_accepted(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimConfig(venues=default_sim_config().venues, host=host)


def test_venue_names_and_fixed_ports_must_be_unique() -> None:
    a, b, _ = default_sim_config().venues
    with pytest.raises(ValueError, match="unique"):
        SimConfig(venues=(a, replace(b, name="sim-a")))
    with pytest.raises(ValueError, match="share a port"):
        SimConfig(venues=(a, replace(b, port=a.port)))
    # Several port-0 venues are fine: each gets its own free port.
    SimConfig(venues=(replace(a, port=0), replace(b, port=0)))


def test_symbol_validation() -> None:
    btc = default_sim_config().venues[0].symbols[0]
    with pytest.raises(ValueError, match="must be BTC/USDT"):
        replace(btc, symbol="BTCUSDT")
    with pytest.raises(TypeError, match="Decimal"):
        replace(btc, mid=60000.0)
    with pytest.raises(ValueError, match="positive"):
        replace(btc, tick=Decimal(0))
    with pytest.raises(ValueError, match="levels"):
        replace(btc, levels=0)


def test_venue_validation() -> None:
    venue = default_sim_config().venues[0]
    with pytest.raises(ValueError, match="twice"):
        replace(venue, symbols=(venue.symbols[0], venue.symbols[0]))
    with pytest.raises(ValueError, match="update_interval_ms"):
        replace(venue, update_interval_ms=0)
    with pytest.raises(ValueError, match="at least one symbol"):
        SimVenueConfig(name="x", port=0, seed=1, symbols=())
    assert isinstance(venue.symbols[0], SimSymbolConfig)
