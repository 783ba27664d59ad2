"""Fixtures for the audit-trail tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from desk.ledger.database import make_engine

# The quote-path I/O watcher of the RFQ unit tests, reused for the gateway's audit hook.
from tests.unit.test_rfq_pricing import io_audit  # noqa: F401


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh migrated database (SQLite and PostgreSQL)."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
