"""Sessions: register → login → refresh → logout, rotation and reuse, forged tokens,
disabled accounts, roles and the last-admin rule. Real argon2, real JWTs, both engines."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import AuditEntry, RefreshToken, User
from app.domain.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationError
from app.services.access import Principal
from app.services.auth import AuthService
from app.services.tokens import encode_access_token
from app.services.users import principal_for
from tests.conftest import FakeClock
from tests.services.conftest import PASSWORD, add_user


async def test_register_login_refresh_logout(auth: AuthService) -> None:
    user = await auth.register("Ada@Example.com", "analytical engine")
    assert (user.email, user.role) == ("ada@example.com", "admin")  # the first account

    pair = await auth.login("ada@example.com", "analytical engine", ip="10.0.0.1")
    assert pair.expires_in == 15 * 60 and pair.user.id == user.id
    me = await auth.authenticate(f"Bearer {pair.access_token}")
    assert me == Principal(user.id, "ada@example.com", "admin", "write", False)

    rotated = await auth.refresh(pair.refresh_token)
    assert rotated.refresh_token != pair.refresh_token
    assert (await auth.authenticate(f"Bearer {rotated.access_token}")) == me

    await auth.logout(rotated.refresh_token)
    with pytest.raises(Unauthenticated, match="signed out"):
        await auth.refresh(rotated.refresh_token)
    await auth.logout(rotated.refresh_token)  # twice is harmless
    await auth.logout("never-issued")


async def test_reusing_a_rotated_refresh_token_signs_out_the_whole_family(
    db: Database, auth: AuthService
) -> None:
    await add_user(db, "ada@example.com")
    first = await auth.login("ada@example.com", PASSWORD)
    other_device = await auth.login("ada@example.com", PASSWORD)
    second = await auth.refresh(first.refresh_token)
    third = await auth.refresh(second.refresh_token)

    with pytest.raises(Unauthenticated, match="already used"):
        await auth.refresh(first.refresh_token)  # a stolen copy is replayed
    with pytest.raises(Unauthenticated, match="signed out"):
        await auth.refresh(third.refresh_token)  # the newest token of the family is dead too
    # A separate login is a separate family and keeps working.
    assert (await auth.refresh(other_device.refresh_token)).user.email == "ada@example.com"


async def test_refresh_tokens_are_stored_hashed_and_expire(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    pair = await auth.login("ada@example.com", PASSWORD, user_agent="curl/8", ip="10.0.0.9")
    async with db.session() as session:
        stored = (await session.scalars(select(RefreshToken))).one()
    assert pair.refresh_token not in repr(vars(stored))
    assert (stored.user_agent, stored.ip) == ("curl/8", "10.0.0.9")

    clock.advance(days=30, seconds=1)
    with pytest.raises(Unauthenticated, match="session expired"):
        await auth.refresh(pair.refresh_token)


async def test_access_token_expires_and_refresh_still_works(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    pair = await auth.login("ada@example.com", PASSWORD)
    clock.advance(minutes=14)
    assert await auth.authenticate(pair.access_token) is not None
    clock.advance(minutes=2)
    with pytest.raises(Unauthenticated, match="access token expired; refresh it"):
        await auth.authenticate(f"Bearer {pair.access_token}")
    renewed = await auth.refresh(pair.refresh_token)
    assert await auth.authenticate(f"Bearer {renewed.access_token}") is not None


def _claims(user_id: int, clock: FakeClock, **changes: object) -> dict[str, object]:
    now = int(clock.now().timestamp())
    claims: dict[str, object] = {
        "iss": "dts",
        "aud": "dts-api",
        "sub": str(user_id),
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "role": "admin",
    }
    for key, value in changes.items():
        if value is None:
            claims.pop(key)
        else:
            claims[key] = value
    return claims


def _tamper(token: str) -> str:
    head, body, signature = token.split(".")
    flipped = ("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))
    return f"{head}.{body}.{flipped}"


FORGERIES = {
    "tampered signature": (lambda s, c: _tamper(jwt.encode(c, s, "HS256")), {}, "signature"),
    "alg none": (lambda s, c: jwt.encode(c, None, algorithm="none"), {}, "'none'"),
    "HS512 with the right key": (lambda s, c: jwt.encode(c, s, "HS512"), {}, "HS512"),
    "another secret": (lambda s, c: jwt.encode(c, "x" * 40, "HS256"), {}, "signature"),
    "wrong audience": (lambda s, c: jwt.encode(c, s, "HS256"), {"aud": "other"}, "audience"),
    "wrong issuer": (lambda s, c: jwt.encode(c, s, "HS256"), {"iss": "evil"}, "issuer"),
    "no expiry": (lambda s, c: jwt.encode(c, s, "HS256"), {"exp": None}, "'exp' claim"),
    "subject not an id": (lambda s, c: jwt.encode(c, s, "HS256"), {"sub": "ada"}, "malformed"),
    "garbage": (lambda s, c: "not.a.jwt", {}, "malformed"),
}


@pytest.mark.parametrize("case", FORGERIES)
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_forged_access_tokens_are_rejected(
    db: Database, auth: AuthService, settings: Settings, clock: FakeClock, case: str
) -> None:
    user = await add_user(db, "ada@example.com", role="admin")
    make, changes, message = FORGERIES[case]
    token = make(settings.jwt_secret, _claims(user.id, clock, **changes))
    with pytest.raises(Unauthenticated, match=message):
        await auth.authenticate(f"Bearer {token}")


async def test_authorization_header_forms(
    db: Database, auth: AuthService, settings: Settings, clock: FakeClock
) -> None:
    user = await add_user(db, "ada@example.com")
    token = encode_access_token(
        settings.jwt_secret,
        user_id=user.id,
        role="member",
        now=clock.now(),
        lifetime=timedelta(minutes=15),
    )
    assert await auth.authenticate(None) is None
    assert await auth.authenticate("  ") is None
    for form in (token, f"Bearer {token}", f"bearer   {token} "):
        principal = await auth.authenticate(form)
        assert principal is not None and principal.user_id == user.id
    with pytest.raises(Unauthenticated, match="unsupported authorization scheme 'Basic'"):
        await auth.authenticate("Basic YWRhOnB3")
    with pytest.raises(Unauthenticated, match="no token"):
        await auth.authenticate("Bearer")


async def test_a_disabled_users_tokens_stop_working_at_once(
    db: Database, auth: AuthService
) -> None:
    admin = principal_for(await add_user(db, "root@example.com", role="admin"))
    member = await add_user(db, "bob@example.com")
    pair = await auth.login("bob@example.com", PASSWORD)
    assert await auth.authenticate(pair.access_token) is not None

    await auth.set_user_disabled(admin, member.id, True)
    with pytest.raises(Unauthenticated, match="disabled"):
        await auth.authenticate(pair.access_token)
    with pytest.raises(Unauthenticated):
        await auth.refresh(pair.refresh_token)
    with pytest.raises(Unauthenticated, match=r"^wrong e-mail or password$"):
        await auth.login("bob@example.com", PASSWORD)

    await auth.set_user_disabled(admin, member.id, False)
    assert await auth.authenticate(pair.access_token) is not None  # access JWT still in date
    with pytest.raises(Unauthenticated):
        await auth.refresh(pair.refresh_token)  # but the sessions were ended


async def test_a_role_change_applies_to_existing_tokens(
    db: Database, auth: AuthService, settings: Settings, clock: FakeClock
) -> None:
    admin = principal_for(await add_user(db, "root@example.com", role="admin"))
    bob = await add_user(db, "bob@example.com")
    token = encode_access_token(
        settings.jwt_secret,
        user_id=bob.id,
        role="member",
        now=clock.now(),
        lifetime=timedelta(minutes=15),
    )
    await auth.set_user_role(admin, bob.id, "viewer")
    principal = await auth.authenticate(token)
    assert principal is not None and principal.role == "viewer" and not principal.may_write


async def test_wrong_password_and_unknown_account_look_the_same(
    db: Database, auth: AuthService
) -> None:
    await add_user(db, "ada@example.com")
    started = time.perf_counter()
    with pytest.raises(Unauthenticated) as wrong_password:
        await auth.login("ada@example.com", "not the password")
    known = time.perf_counter() - started
    started = time.perf_counter()
    with pytest.raises(Unauthenticated) as unknown:
        await auth.login("nobody@example.com", PASSWORD)
    unknown_time = time.perf_counter() - started
    assert str(wrong_password.value) == str(unknown.value) == "wrong e-mail or password"
    # Both paths verify an argon2 hash (about 0.1 s); a loose bound, not a benchmark.
    assert unknown_time > 0.3 * known


async def test_signup_can_be_closed(db: Database, settings: Settings) -> None:
    closed = AuthService(db, settings.model_copy(update={"allow_signup": False}))
    with pytest.raises(Forbidden, match="sign-up is closed; ask an admin for an account"):
        await closed.register("ada@example.com", PASSWORD)


async def test_first_account_is_admin_even_when_registering_at_once(
    db: Database, auth: AuthService
) -> None:
    created = await asyncio.gather(
        *(auth.register(f"user{i}@example.com", PASSWORD) for i in range(3))
    )
    assert sorted(u.role for u in created) == ["admin", "member", "member"]
    async with db.session() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions == ["user.registered"] * 3


async def test_admins_manage_roles_with_an_audit_trail(db: Database, auth: AuthService) -> None:
    root = principal_for(await add_user(db, "root@example.com", role="admin"))
    bob = await add_user(db, "bob@example.com")
    member = principal_for(bob)

    with pytest.raises(Forbidden, match="admin role"):
        await auth.set_user_role(member, bob.id, "admin")
    with pytest.raises(Forbidden):
        await auth.list_users(member)
    with pytest.raises(ValidationError, match="unknown role 'owner'"):
        await auth.set_user_role(root, bob.id, "owner")
    with pytest.raises(NotFound):
        await auth.set_user_role(root, 999_999, "viewer")
    read_only_admin = Principal(root.user_id, root.email, "admin", scope="read", via_token=True)
    with pytest.raises(Forbidden, match="read-only"):
        await auth.set_user_role(read_only_admin, bob.id, "viewer")

    assert (await auth.set_user_role(root, bob.id, "admin")).role == "admin"
    carol = await auth.create_user_as_admin(root, "Carol@Example.com", PASSWORD, "viewer")
    assert (carol.email, carol.role) == ("carol@example.com", "viewer")
    assert [u.email for u in await auth.list_users(root)] == [
        "root@example.com",
        "bob@example.com",
        "carol@example.com",
    ]

    async with db.session() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(e.action, e.actor_email, e.target_id) for e in entries] == [
        ("user.role_changed", "root@example.com", str(bob.id)),
        ("user.created", "root@example.com", str(carol.id)),
    ]
    assert entries[0].detail == {"email": "bob@example.com", "from": "member", "to": "admin"}


async def test_the_last_admin_cannot_demote_or_disable_themselves(
    db: Database, auth: AuthService
) -> None:
    root_user = await add_user(db, "root@example.com", role="admin")
    root = principal_for(root_user)
    with pytest.raises(Conflict, match="cannot change the role of yourself: this is the last"):
        await auth.set_user_role(root, root_user.id, "member")
    with pytest.raises(Conflict, match="last admin"):
        await auth.set_user_disabled(root, root_user.id, True)

    second = await add_user(db, "second@example.com", role="admin")
    await auth.set_user_role(root, root_user.id, "member")  # another admin remains
    with pytest.raises(Conflict, match="last admin"):
        await auth.set_user_disabled(principal_for(second), second.id, True)
    async with db.session() as session:
        roles = {e: r for e, r in (await session.execute(select(User.email, User.role))).all()}
    assert roles == {"root@example.com": "member", "second@example.com": "admin"}


async def test_change_password_signs_out_other_sessions(db: Database, auth: AuthService) -> None:
    user = await add_user(db, "ada@example.com")
    other = await auth.login("ada@example.com", PASSWORD)
    me = principal_for(user)
    with pytest.raises(ValidationError, match="current password is wrong"):
        await auth.change_password(me, "not it at all", "a brand new secret")
    with pytest.raises(ValidationError, match="at least 8"):
        await auth.change_password(me, PASSWORD, "short")

    kept = await auth.change_password(me, PASSWORD, "a brand new secret")
    assert await auth.authenticate(kept.access_token) is not None
    with pytest.raises(Unauthenticated):
        await auth.refresh(other.refresh_token)
    await auth.refresh(kept.refresh_token)
    with pytest.raises(Unauthenticated):
        await auth.login("ada@example.com", PASSWORD)
    await auth.login("ada@example.com", "a brand new secret")


async def test_sign_out_everywhere_stops_access_tokens_already_issued(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    pair = await auth.login("ada@example.com", PASSWORD)
    assert await auth.authenticate(f"Bearer {pair.access_token}") is not None
    clock.advance(2)
    await auth.logout_all(pair.user.id)
    with pytest.raises(Unauthenticated, match="signed out"):
        await auth.authenticate(f"Bearer {pair.access_token}")
    clock.advance(2)
    fresh = await auth.login("ada@example.com", PASSWORD)
    assert await auth.authenticate(f"Bearer {fresh.access_token}") is not None
