"""Seeded ledgers for the compliance tests: the scenario, once per module and backend.

Reports only read, so the tests of a module share one seeded database per backend.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.compliance.scenario import seed
from tests.fixtures.databases import BACKENDS, fresh_pg_database, migrated_sqlite_url


@pytest.fixture(scope="module")
def seeded_pg_url() -> Iterator[str]:
    """A PostgreSQL ledger holding the scenario."""
    with fresh_pg_database() as url:
        seed(url)
        yield url


@pytest.fixture(scope="module")
def seeded_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite ledger holding the scenario."""
    url = migrated_sqlite_url(tmp_path_factory.mktemp("compliance") / "ledger.db")
    seed(url)
    return url


@pytest.fixture(params=BACKENDS)
def seeded_url(request: pytest.FixtureRequest) -> str:
    """The scenario on SQLite and on PostgreSQL: the test runs once on each."""
    name = "seeded_sqlite_url" if request.param == "sqlite" else "seeded_pg_url"
    return str(request.getfixturevalue(name))
