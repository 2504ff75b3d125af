"""User accounts: creation with normalised unique e-mails and roles."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.db.engine import Database
from app.db.models import User
from app.domain.errors import Conflict, ValidationError
from app.services.passwords import check_password_rules, hash_password

ROLES = ("admin", "member", "viewer")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str, field: str = "email") -> str:
    value = email.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValidationError(f"{email!r} is not a valid e-mail address", field=field)
    return value


def check_role(role: str, field: str = "role") -> str:
    if role not in ROLES:
        raise ValidationError(
            f"unknown role {role!r}; expected one of {', '.join(ROLES)}", field=field
        )
    return role


async def create_user(db: Database, email: str, password: str, *, role: str | None = None) -> User:
    """Create an account. The very first account becomes admin whatever `role` says."""
    address = normalise_email(email)
    check_password_rules(password)
    if role is not None:
        check_role(role)
    password_hash = hash_password(password)
    try:
        async with db.transaction() as session:
            existing = await session.scalar(select(User.id).where(User.email == address))
            if existing is not None:
                raise Conflict("an account with this e-mail already exists", field="email")
            count = await session.scalar(select(func.count()).select_from(User))
            user = User(
                email=address,
                password_hash=password_hash,
                role="admin" if count == 0 else (role or "member"),
            )
            session.add(user)
    except IntegrityError:
        raise Conflict("an account with this e-mail already exists", field="email") from None
    return user
