"""Shared pytest configuration: fixture modules are registered as plugins here."""

from collections.abc import Iterator

import pytest
import structlog

from desk import log_setup

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.desk",
]


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """Whatever a test configures (capture_logs, or the CLI logging to a captured stderr that
    pytest closes afterwards), the next test starts from structlog's defaults, and a helper
    process it starts (audit writer, hedger) logs as the default settings say, not as some
    earlier test's ``configure_logging`` did (console lines where a test reads JSON)."""
    settings = log_setup.logging_settings()
    yield
    structlog.reset_defaults()
    log_setup._settings = settings
