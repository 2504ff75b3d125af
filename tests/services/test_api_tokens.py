"""API tokens: shown once, stored hashed, scoped, revocable, tied to their owner's state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.db.engine import Database
from app.db.models import ApiToken
from app.domain.errors import Forbidden, NotFound, Unauthenticated, ValidationError
from app.services.access import Principal
from app.services.api_tokens import create_api_token, list_api_tokens, revoke_api_token
from app.services.auth import AuthService
from app.services.users import principal_for
from tests.conftest import FakeClock
from tests.services.conftest import add_user


async def table_text(db: Database, table: str) -> str:
    async with db.connect() as connection:
        rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
    return repr(rows)


async def test_a_token_is_shown_once_and_stored_hashed(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    bob = principal_for(await add_user(db, "bob@example.com"))
    token, plaintext = await create_api_token(db, bob, "  ci pipeline ", "write", now=clock.now())
    assert plaintext.startswith("dts_") and len(plaintext) >= 40
    assert (token.name, token.scope, token.prefix) == ("ci pipeline", "write", plaintext[:12])

    secret_part = plaintext[12:]
    for table in ("api_tokens", "audit_log"):
        assert secret_part not in await table_text(db, table)

    principal = await auth.authenticate(f"Bearer {plaintext}")
    assert principal == Principal(bob.user_id, bob.email, "member", "write", via_token=True)
    assert principal.may_write
    with pytest.raises(Unauthenticated, match="not valid"):
        await auth.authenticate(f"Bearer {plaintext[:-1]}")
    with pytest.raises(Unauthenticated, match="not valid"):
        await auth.authenticate("dts_nope")


async def test_read_scope_changes_nothing(db: Database, auth: AuthService) -> None:
    admin = principal_for(await add_user(db, "root@example.com", role="admin"))
    _, plaintext = await create_api_token(db, admin, "dashboard", "read")
    reader = await auth.authenticate(plaintext)
    assert reader is not None and reader.is_admin and not reader.may_write

    with pytest.raises(Forbidden, match="read-only API token cannot create"):
        await create_api_token(db, reader, "escalate", "write")
    with pytest.raises(Forbidden, match="read-only API token cannot"):
        await revoke_api_token(db, reader, 1)
    with pytest.raises(Forbidden, match="read-only"):
        await auth.set_user_role(reader, admin.user_id, "member")


async def test_scope_and_name_are_checked(db: Database) -> None:
    viewer = principal_for(await add_user(db, "vi@example.com", role="viewer"))
    with pytest.raises(Forbidden, match="viewers can create read-only tokens only"):
        await create_api_token(db, viewer, "x", "write")
    await create_api_token(db, viewer, "grafana", "read")
    with pytest.raises(ValidationError, match="unknown scope 'admin'"):
        await create_api_token(db, viewer, "x", "admin")
    with pytest.raises(ValidationError, match="give the token a name"):
        await create_api_token(db, viewer, "   ", "read")


async def test_a_revoked_or_expired_token_is_rejected(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    bob = principal_for(await add_user(db, "bob@example.com"))
    token, plaintext = await create_api_token(db, bob, "cron box", "write")
    revoked = await revoke_api_token(db, bob, token.id)
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthenticated, match="revoked"):
        await auth.authenticate(f"Bearer {plaintext}")
    await revoke_api_token(db, bob, token.id)  # twice is harmless

    _, short_lived = await create_api_token(
        db, bob, "temp", "read", expires_at=clock.now() + timedelta(hours=1), now=clock.now()
    )
    assert await auth.authenticate(short_lived) is not None
    clock.advance(hours=1)
    with pytest.raises(Unauthenticated, match="expired"):
        await auth.authenticate(short_lived)
    with pytest.raises(ValidationError, match="must be in the future"):
        await create_api_token(db, bob, "past", "read", expires_at=clock.now(), now=clock.now())


async def test_a_disabled_owners_tokens_stop_working(db: Database, auth: AuthService) -> None:
    admin = principal_for(await add_user(db, "root@example.com", role="admin"))
    bob = await add_user(db, "bob@example.com")
    _, plaintext = await create_api_token(db, principal_for(bob), "ci", "write")
    await auth.set_user_disabled(admin, bob.id, True)
    with pytest.raises(Unauthenticated, match="disabled"):
        await auth.authenticate(f"Bearer {plaintext}")


async def test_listing_and_revoking_respect_ownership(db: Database) -> None:
    admin = principal_for(await add_user(db, "root@example.com", role="admin"))
    alice = principal_for(await add_user(db, "alice@example.com"))
    bob = principal_for(await add_user(db, "bob@example.com"))
    alice_token, _ = await create_api_token(db, alice, "alice ci", "write")
    await create_api_token(db, bob, "bob ci", "read")

    assert [t.name for t in await list_api_tokens(db, alice)] == ["alice ci"]
    with pytest.raises(Forbidden, match="only admins"):
        await list_api_tokens(db, alice, all_users=True)
    assert [t.name for t in await list_api_tokens(db, admin, all_users=True)] == [
        "bob ci",
        "alice ci",
    ]
    with pytest.raises(NotFound, match="API token not found"):
        await revoke_api_token(db, bob, alice_token.id)
    await revoke_api_token(db, admin, alice_token.id)
    assert await list_api_tokens(db, alice) == []
    assert len(await list_api_tokens(db, alice, include_revoked=True)) == 1


async def test_last_used_is_written_at_most_once_a_minute(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    bob = principal_for(await add_user(db, "bob@example.com"))
    _, plaintext = await create_api_token(db, bob, "ci", "read")

    async def last_used() -> object:
        async with db.session() as session:
            return await session.scalar(select(ApiToken.last_used_at))

    await auth.authenticate(plaintext)
    first = clock.now()
    assert await last_used() == first
    clock.advance(seconds=59)
    await auth.authenticate(plaintext)
    assert await last_used() == first
    clock.advance(seconds=2)
    await auth.authenticate(plaintext)
    assert await last_used() == clock.now()
