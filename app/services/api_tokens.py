"""API tokens for machine clients: `Authorization: Bearer dts_…`, scoped read or write.

The plaintext is returned once, at creation; the table keeps its SHA-256 and a short
prefix so people can tell their tokens apart in a list. A token acts as its owner, with at
most the owner's rights: a `read` token changes nothing even for an admin, and a token
stops working at once when it is revoked, expires, or its owner is disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update

from app.db.engine import Database
from app.db.models import ApiToken, User
from app.domain.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TokenExpired,
    Unauthenticated,
    ValidationError,
)
from app.feed.events import emit_account_changed
from app.services import audit
from app.services.access import Principal
from app.services.tokens import API_TOKEN_DISPLAY_LENGTH, hash_token, new_api_token
from app.services.users import principal_for

SCOPES = ("read", "write")
MAX_NAME_LENGTH = 100
MAX_TOKENS_PER_USER = 100
# last_used_at is written at most this often per token: a busy client costs no writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_may_manage_tokens(principal: Principal) -> None:
    if principal.via_token and principal.scope != "write":
        raise Forbidden("a read-only API token cannot create or revoke tokens; sign in instead")


def _check_name(name: str) -> str:
    value = name.strip()
    if not value:
        raise ValidationError(
            "give the token a name, e.g. the client that will use it", field="name"
        )
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(f"must be at most {MAX_NAME_LENGTH} characters", field="name")
    return value


def _check_scope(principal: Principal, scope: str) -> str:
    if scope not in SCOPES:
        raise ValidationError(f"unknown scope {scope!r}; expected read or write", field="scope")
    if scope == "write" and principal.role == "viewer":
        raise Forbidden("viewers can create read-only tokens only", field="scope")
    if scope == "write" and principal.via_token and principal.scope != "write":
        raise Forbidden("a read-only token cannot create a read-write token", field="scope")
    return scope


async def create_api_token(
    db: Database,
    principal: Principal,
    name: str,
    scope: str,
    *,
    expires_at: datetime | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the plaintext, which is never available again."""
    ensure_may_manage_tokens(principal)
    clean_name = _check_name(name)
    _check_scope(principal, scope)
    current = now or _utcnow()
    if expires_at is not None and expires_at <= current:
        raise ValidationError("must be in the future", field="expiresAt")
    plaintext = new_api_token()
    async with db.transaction() as session:
        at_cap = await session.scalar(
            select(ApiToken.id)
            .where(ApiToken.user_id == principal.user_id, ApiToken.revoked_at.is_(None))
            .offset(MAX_TOKENS_PER_USER - 1)
            .limit(1)
        )
        if at_cap is not None:
            raise Conflict(
                f"you already have {MAX_TOKENS_PER_USER} active API tokens; "
                "revoke unused ones first"
            )
        token = ApiToken(
            user_id=principal.user_id,
            name=clean_name,
            prefix=plaintext[:API_TOKEN_DISPLAY_LENGTH],
            token_hash=hash_token(plaintext),
            scope=scope,
            created_at=current,
            expires_at=expires_at,
        )
        session.add(token)
        await session.flush()
        audit.record(
            session,
            principal,
            "api_token.created",
            "api_token",
            token.id,
            {"name": clean_name, "scope": scope, "prefix": token.prefix},
            ip,
        )
    return token, plaintext


async def list_api_tokens(
    db: Database, principal: Principal, *, all_users: bool = False, include_revoked: bool = False
) -> list[ApiToken]:
    """The caller's tokens, newest first; admins may ask for everyone's."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if all_users:
        if not principal.is_admin:
            raise Forbidden("only admins can list other users' API tokens")
    else:
        query = query.where(ApiToken.user_id == principal.user_id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    async with db.session() as session:
        return list((await session.scalars(query)).all())


async def revoke_api_token(
    db: Database,
    principal: Principal,
    token_id: int,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> ApiToken:
    """Revoke one of the caller's tokens (admins: anyone's). Revoking twice is harmless."""
    ensure_may_manage_tokens(principal)
    async with db.transaction() as session:
        token = await session.get(ApiToken, token_id, with_for_update=True)
        if token is None or (token.user_id != principal.user_id and not principal.is_admin):
            raise NotFound("API token not found")
        if token.revoked_at is None:
            token.revoked_at = now or _utcnow()
            await emit_account_changed(session, token.user_id, "api_token_revoked")
            audit.record(
                session,
                principal,
                "api_token.revoked",
                "api_token",
                token.id,
                {"name": token.name, "prefix": token.prefix, "owner_id": token.user_id},
                ip,
            )
    return token


async def authenticate_api_token(
    db: Database, plaintext: str, *, clock: Callable[[], datetime] = _utcnow
) -> Principal:
    """The Principal a `dts_…` token acts as, or Unauthenticated saying why not."""
    now = clock()
    async with db.session() as session:
        row = (
            await session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == hash_token(plaintext))
            )
        ).first()
    if row is None:
        raise Unauthenticated("API token is not valid; check it was copied whole")
    token, user = row
    if token.revoked_at is not None:
        raise Unauthenticated("API token has been revoked; create a new one")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenExpired("API token has expired; create a new one")
    if user.disabled:
        raise Unauthenticated("this account is disabled; ask an admin")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        async with db.transaction() as session:
            await session.execute(
                update(ApiToken)
                .where(
                    ApiToken.id == token.id,
                    or_(
                        ApiToken.last_used_at.is_(None),
                        ApiToken.last_used_at <= now - LAST_USED_RESOLUTION,
                    ),
                )
                .values(last_used_at=now)
            )
    principal = principal_for(user, scope=token.scope, via_token=True)
    return replace(principal, expires_at=token.expires_at)
