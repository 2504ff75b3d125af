"""User accounts: normalised unique e-mails, roles, and the first-account-is-admin rule.

Changes that depend on who else is (or is not) an admin — creating the very first
account, demoting or disabling an admin — take `lock_accounts` first, so two concurrent
requests cannot both see "no admin yet" or both remove "the other" admin. On SQLite the
write transaction (BEGIN IMMEDIATE) is already exclusive; on PostgreSQL a transaction-level
advisory lock serialises just these changes.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import User
from app.domain.errors import Conflict, ValidationError
from app.services import audit
from app.services.access import Principal
from app.services.passwords import check_password_rules, hash_password_async

ROLES = ("admin", "member", "viewer")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# Arbitrary but fixed: the advisory lock id for account-role invariants ("dtsU").
ACCOUNTS_LOCK_ID = 0x64747355


def normalise_email(email: str, field: str = "email") -> str:
    """Trimmed and lower-cased, so `Ada@X.com` and `ada@x.com` are one account."""
    value = email.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        shown = email if len(email) <= 80 else email[:77] + "..."
        raise ValidationError(f"{shown!r} is not a valid e-mail address", field=field)
    return value


def check_role(role: str, field: str = "role") -> str:
    if role not in ROLES:
        raise ValidationError(
            f"unknown role {role!r}; expected one of {', '.join(ROLES)}", field=field
        )
    return role


def principal_for(user: User, *, scope: str = "write", via_token: bool = False) -> Principal:
    return Principal(
        user_id=user.id, email=user.email, role=user.role, scope=scope, via_token=via_token
    )


async def lock_accounts(db: Database, session: AsyncSession) -> None:
    """Serialise admin-count-dependent changes (no-op on SQLite, whose writer is alone)."""
    if db.is_postgres:
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ACCOUNTS_LOCK_ID})


async def count_active_admins(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.disabled.is_(False))
    )
    return int(count or 0)


async def create_user(
    db: Database,
    email: str,
    password: str,
    *,
    role: str | None = None,
    actor: Principal | None = None,
    ip: str | None = None,
    action: str = "user.created",
) -> User:
    """Create an account. The very first account becomes admin whatever `role` says.

    Writes an audit entry `action` in the same transaction (actor None: the CLI or the
    person registering themselves).
    """
    address = normalise_email(email)
    check_password_rules(password)
    if role is not None:
        check_role(role)
    async with db.session() as session:
        if await session.scalar(select(User.id).where(User.email == address)) is not None:
            # Checked before hashing too, so a duplicate costs no argon2 time.
            raise Conflict("an account with this e-mail already exists", field="email")
    password_hash = await hash_password_async(password)
    try:
        async with db.transaction() as session:
            await lock_accounts(db, session)
            existing = await session.scalar(select(User.id).where(User.email == address))
            if existing is not None:
                raise Conflict("an account with this e-mail already exists", field="email")
            first = await session.scalar(select(User.id).limit(1)) is None
            user = User(
                email=address,
                password_hash=password_hash,
                role="admin" if first else (role or "member"),
            )
            session.add(user)
            await session.flush()
            audit.record(
                session,
                actor,
                action,
                "user",
                user.id,
                {"email": address, "role": user.role, "first_account": first},
                ip,
            )
    except IntegrityError:
        raise Conflict("an account with this e-mail already exists", field="email") from None
    return user


async def get_user(db: Database, user_id: int) -> User | None:
    async with db.session() as session:
        return await session.get(User, user_id)


async def find_user_by_email(db: Database, email: str) -> User | None:
    try:
        address = normalise_email(email)
    except ValidationError:
        return None
    async with db.session() as session:
        return await session.scalar(select(User).where(User.email == address))
