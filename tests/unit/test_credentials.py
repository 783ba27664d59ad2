"""gateway.credentials: salted scrypt hashes; malformed stored hashes never match."""

from __future__ import annotations

import pytest

from gateway.credentials import hash_password, verify_password

SHIPPED_CLIENT1 = (
    "scrypt$16384$8$1$fdtDuiTmxZMPHO0iR4GcHw==$q2jQn7N42ZwQ7FkR3nm09P9ojp8dALH72nakFHEZUWg="
)


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password("correct horse")


def test_verify_when_password_matches_then_true(stored: str) -> None:
    assert verify_password("correct horse", stored) is True


@pytest.mark.parametrize("attempt", ["correct horsE", "correct horse "])
def test_verify_when_password_differs_then_false(stored: str, attempt: str) -> None:
    assert verify_password(attempt, stored) is False


def test_verify_when_shipped_demo_hash_then_demo_password_matches() -> None:
    assert verify_password("client1-demo", SHIPPED_CLIENT1) is True
    assert verify_password("client2-demo", SHIPPED_CLIENT1) is False


def test_hash_when_same_password_twice_then_salts_and_hashes_differ() -> None:
    first, second = hash_password("same"), hash_password("same")

    assert first.split("$")[4] != second.split("$")[4]
    assert first != second
    assert verify_password("same", first)
    assert verify_password("same", second)


def test_hash_when_salt_given_then_deterministic_and_formatted() -> None:
    stored = hash_password("pw", salt=b"\x00" * 16)

    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p, salt) == ("scrypt", "16384", "8", "1", "AAAAAAAAAAAAAAAAAAAAAA==")
    assert len(digest) == 44  # 32 bytes of base64
    assert hash_password("pw", salt=b"\x00" * 16) == stored
    assert "pw" not in stored


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "client1-demo",  # a plain password where the hash should be
        "scrypt$",
        SHIPPED_CLIENT1 + "$extra",
        SHIPPED_CLIENT1.replace("scrypt$", "bcrypt$"),
        SHIPPED_CLIENT1.replace("$16384$", "$lots$"),
        SHIPPED_CLIENT1.replace("$16384$", "$16385$"),  # N must be a power of two
        SHIPPED_CLIENT1.replace("$16384$", "$-1$"),
        SHIPPED_CLIENT1.replace("$16384$", "$" + "9" * 40 + "$"),
        SHIPPED_CLIENT1.replace("$8$1$", "$0$1$"),
        SHIPPED_CLIENT1.replace("fdtDuiTmxZMPHO0iR4GcHw==", "not base64!"),
        SHIPPED_CLIENT1.replace("fdtDuiTmxZMPHO0iR4GcHw==", ""),
        SHIPPED_CLIENT1.rsplit("$", 1)[0] + "$",  # empty digest
        SHIPPED_CLIENT1.rsplit("$", 1)[0] + "$%%%",
    ],
)
def test_verify_when_stored_hash_malformed_then_false_never_raises(malformed: str) -> None:
    assert verify_password("client1-demo", malformed) is False
