"""The database fixtures themselves: an absent PostgreSQL fails loudly unless allowed to skip."""

from __future__ import annotations

import pytest

from tests.fixtures.databases import fresh_pg_database

NOWHERE = "postgresql+psycopg://postgres:secret@127.0.0.1:1/postgres"


def test_unreachable_postgres_fails_and_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESK_TEST_ALLOW_NO_PG", raising=False)
    with pytest.raises(pytest.fail.Exception) as caught, fresh_pg_database(NOWHERE):
        pass
    message = str(caught.value)
    assert "postgresql+psycopg://postgres:***@127.0.0.1:1/postgres" in message
    assert "secret" not in message
    assert "DESK_TEST_ALLOW_NO_PG=1" in message


def test_unreachable_postgres_skips_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_TEST_ALLOW_NO_PG", "1")
    with pytest.raises(pytest.skip.Exception), fresh_pg_database(NOWHERE):
        pass
