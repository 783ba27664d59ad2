"""Shared pytest configuration: fixture modules are registered as plugins here."""

from collections.abc import Iterator

import pytest
import structlog

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.desk",
]


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """Whatever a test configures (capture_logs, or the CLI logging to a captured stderr that
    pytest closes afterwards), the next test starts from structlog's defaults."""
    yield
    structlog.reset_defaults()
