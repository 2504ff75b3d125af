"""Accounts: e-mail normalisation and uniqueness, password rules, roles at creation."""

from __future__ import annotations

import time

import pytest

from app.db.engine import Database
from app.domain.errors import Conflict, Unauthenticated, ValidationError
from app.services.access import Principal
from app.services.auth import AuthService
from app.services.passwords import check_password_rules, verify_password_async
from app.services.users import create_user, find_user_by_email, normalise_email
from tests.services.conftest import PASSWORD, add_user, password_hash


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Ada@X.com", "ada@x.com"),
        ("  ada@x.com\n", "ada@x.com"),
        ("ADA.Lovelace+dts@Example.CO.UK", "ada.lovelace+dts@example.co.uk"),
    ],
)
def test_email_addresses_are_normalised(given: str, expected: str) -> None:
    assert normalise_email(given) == expected


@pytest.mark.parametrize("given", ["", "ada", "ada@", "@x.com", "ada@x", "a b@x.com", "a@b@x.com"])
def test_malformed_email_addresses_are_refused_by_name(given: str) -> None:
    with pytest.raises(ValidationError, match="is not a valid e-mail address") as error:
        normalise_email(given)
    assert error.value.field == "email"


async def test_one_account_per_address_whatever_the_case(db: Database, auth: AuthService) -> None:
    await auth.register("Ada@X.com", PASSWORD)
    with pytest.raises(Conflict, match="already exists"):
        await auth.register("ada@x.com ", PASSWORD)
    pair = await auth.login(" ADA@x.COM", PASSWORD)
    assert pair.user.email == "ada@x.com"
    assert (await find_user_by_email(db, "aDa@x.com")) is not None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8 characters"),
        (" " * 12, "only spaces"),
        ("x" * 129, "at most 128 characters"),
        ("aaaaaaaaaaaa", "at least 4 different characters"),
        ("abababababab", "at least 4 different characters"),
        ("password", "one of the most common passwords"),
        ("Password123", "one of the most common passwords"),  # case does not help
        ("qwertyuiop", "one of the most common passwords"),
        ("iloveyou2", "one of the most common passwords"),
        (" 12345678 ", "one of the most common passwords"),  # nor surrounding spaces
    ],
)
async def test_password_rules_name_the_rule(auth: AuthService, password: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as error:
        await auth.register("ada@example.com", password)
    assert error.value.field == "password"


async def test_a_megabyte_password_is_refused_without_hashing(
    db: Database, auth: AuthService
) -> None:
    await add_user(db, "ada@example.com")
    huge = "x" * 1_000_000
    with pytest.raises(ValidationError, match="at most 128"):
        await auth.register("bob@example.com", huge)
    with pytest.raises(Unauthenticated, match="wrong e-mail or password"):
        await auth.login("ada@example.com", huge)
    # Both refusals are length checks: one argon2 hash takes ~0.1 s, these take microseconds.
    started = time.perf_counter()
    with pytest.raises(ValidationError):
        check_password_rules(huge)
    assert await verify_password_async(huge, password_hash()) == (False, None)
    assert time.perf_counter() - started < 0.02


async def test_roles_at_creation(db: Database) -> None:
    first = await create_user(db, "first@example.com", PASSWORD, role="viewer")
    second = await create_user(db, "second@example.com", PASSWORD, role="viewer")
    third = await create_user(db, "third@example.com", PASSWORD)
    assert [first.role, second.role, third.role] == ["admin", "viewer", "member"]
    with pytest.raises(ValidationError, match="unknown role 'root'"):
        await create_user(db, "fourth@example.com", PASSWORD, role="root")


def test_the_common_password_list_ships_with_the_package() -> None:
    from app.services.passwords import COMMON_PASSWORDS_FILE, MIN_LENGTH, common_passwords

    common = common_passwords()
    assert COMMON_PASSWORDS_FILE.is_file() and len(common) > 8000
    assert {"password", "12345678", "iloveyou", "qwertyuiop", "baseball"} <= common
    assert all(len(p) >= MIN_LENGTH and p == p.lower() for p in common)  # shorter: refused anyway


async def test_changing_to_a_common_password_is_refused(db: Database, auth: AuthService) -> None:
    user = await add_user(db, "ada@example.com")
    principal = Principal(user.id, user.email, user.role, "write", False)
    with pytest.raises(ValidationError, match="one of the most common passwords") as error:
        await auth.change_password(principal, PASSWORD, "football1")
    assert error.value.field == "newPassword"
    await auth.login("ada@example.com", PASSWORD)  # unchanged
