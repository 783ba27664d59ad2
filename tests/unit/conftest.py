"""Unit-test fixtures: the shipped config, a fake clock, and structlog reset after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from desk.clock import FakeClock
from desk.config.loader import DEFAULT_CONFIG, load_config
from desk.config.model import DeskConfig
from tests.unit.builders import T0


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """Whatever a test (or capture_logs) configures, the next test starts from the defaults."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def shipped_config() -> DeskConfig:
    """``config/desk.toml`` exactly as shipped, with no environment overrides."""
    return load_config(DEFAULT_CONFIG, env={})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)
