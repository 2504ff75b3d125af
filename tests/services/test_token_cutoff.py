"""Revocation is sub-second: an access token issued before a sign-out everywhere or a
password change is refused even within the same second (issue 12, item 1), and a token's
subject must be a plain user id (an oversized or odd `sub` is a 401, never a 500)."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.db.models import User
from app.domain.errors import TokenExpired, Unauthenticated
from app.services.auth import AuthService
from app.services.tokens import decode_access_token
from tests.conftest import FakeClock
from tests.services.conftest import PASSWORD, add_user

SECRET = "test-secret-" + "x" * 32


async def test_sign_out_everywhere_refuses_tokens_of_the_same_second(
    auth: AuthService, db: Database, clock: FakeClock
) -> None:
    user = await add_user(db, "ada@example.com")
    clock.advance(0.2)  # 12:00:00.2
    early = await auth.login("ada@example.com", PASSWORD)
    assert await auth.authenticate(f"Bearer {early.access_token}") is not None
    clock.advance(0.5)  # 12:00:00.7: the same second
    await auth.logout_all(user.id)
    with pytest.raises(Unauthenticated, match="signed out"):
        await auth.authenticate(f"Bearer {early.access_token}")
    # A token issued at or after the cutoff is good, even in the same second.
    after = await auth.login("ada@example.com", PASSWORD)
    assert await auth.authenticate(f"Bearer {after.access_token}") is not None


async def test_password_change_keeps_only_its_own_fresh_token(
    auth: AuthService, db: Database, clock: FakeClock
) -> None:
    await add_user(db, "bob@example.com")
    clock.advance(0.1)
    first = await auth.login("bob@example.com", PASSWORD)
    principal = await auth.authenticate(f"Bearer {first.access_token}")
    assert principal is not None
    clock.advance(0.3)
    changed = await auth.change_password(principal, PASSWORD, "a brand new password")
    with pytest.raises(Unauthenticated, match="signed out"):
        await auth.authenticate(f"Bearer {first.access_token}")
    assert await auth.authenticate(f"Bearer {changed.access_token}") is not None
    async with db.session() as session:
        cutoff = await session.scalar(
            select(User.tokens_valid_after).where(User.id == principal.user_id)
        )
    claims = decode_access_token(SECRET, changed.access_token, now=clock.now())
    assert cutoff is not None and claims.issued_at_us == (
        int(cutoff.timestamp()) * 1_000_000 + cutoff.microsecond
    )


def signed(claims: dict[str, object]) -> str:
    base = {"iss": "dts", "aud": "dts-api", "iat": int(time.time()), "jti": "j"}
    base["exp"] = int(time.time()) + 600
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "9" * 5000},
        {"sub": str(2**63)},
        {"sub": "1_0"},
        {"sub": " 1"},
        {"sub": "+1"},
        {"sub": "0"},
        {"sub": "-3"},
        {"sub": "١"},  # an Arabic-Indic digit: int() would accept it
        {"sub": 5},
        {"sub": "1", "iat": "soon"},
        {"sub": "1", "exp": True},
        {"sub": "1", "exp": 1e300},
        {"sub": "1", "iat_us": "x"},
        {"sub": "1", "iat_us": 1},  # disagrees with iat
    ],
)
async def test_odd_claims_are_refused_as_unauthenticated(
    auth: AuthService, claims: dict[str, object]
) -> None:
    with pytest.raises(Unauthenticated, match="malformed"):
        await auth.authenticate(f"Bearer {signed(claims)}")


async def test_an_expired_token_says_so(auth: AuthService, db: Database, clock: FakeClock) -> None:
    await add_user(db, "eve@example.com")
    pair = await auth.login("eve@example.com", PASSWORD)
    clock.advance(timedelta(minutes=16).total_seconds())
    with pytest.raises(TokenExpired, match="expired"):
        await auth.authenticate(f"Bearer {pair.access_token}")
