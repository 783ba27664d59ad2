"""Unit-test fixtures: the shipped config and a fake clock."""

from __future__ import annotations

import pytest

from desk.clock import FakeClock
from desk.config.loader import DEFAULT_CONFIG, load_config
from desk.config.model import DeskConfig
from tests.unit.builders import T0
from tests.unit.rfq_rig import Rig, margin_only, rig


@pytest.fixture
def shipped_config() -> DeskConfig:
    """``config/desk.toml`` exactly as shipped, with no environment overrides."""
    return load_config(DEFAULT_CONFIG, env={})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def plain_config(shipped_config: DeskConfig) -> DeskConfig:
    return margin_only(shipped_config)


@pytest.fixture
def desk(plain_config: DeskConfig, clock: FakeClock) -> Rig:
    return rig(plain_config, clock)
