"""Fixtures for the exchange simulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exchange_sim.runner import SimulatorThread
from tests.exchange_sim.helpers import fast_config


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    """Two fast venues (sim-a seed 1, sim-b seed 2) on free ports, stopped afterwards."""
    with SimulatorThread(fast_config()) as running:
        yield running
