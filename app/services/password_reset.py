"""Password reset by e-mail: a single-use link that expires in 30 minutes.

`request_password_reset` answers the same whether or not the account exists, and the
e-mail goes out in the background so even the answer time does not tell. The token is 32
random bytes; only its SHA-256 is stored. A successful reset uses up every outstanding
link of the account, signs out all its sessions (refresh tokens) and clears its failed
sign-in counter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select, update

from app.config import Settings
from app.db.engine import Database
from app.db.models import RefreshToken, ResetToken, User
from app.domain.errors import ValidationError
from app.feed.events import emit_account_changed
from app.services import audit, throttle
from app.services.mail import Mailer
from app.services.passwords import check_password_rules, hash_password_async
from app.services.tokens import hash_token, new_opaque_token
from app.services.users import normalise_email, principal_for

RESET_TOKEN_LIFETIME = timedelta(minutes=30)
RESET_SUBJECT = "Reset your dts password"
_INVALID = "this reset link is not valid; request a new one"


def reset_link(settings: Settings, token: str) -> str:
    return f"{settings.app_url}/reset?token={quote(token, safe='')}"


def reset_email_text(email: str, link: str) -> str:
    minutes = int(RESET_TOKEN_LIFETIME.total_seconds() // 60)
    return (
        f"Someone asked to reset the password of the dts account {email}.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"{link}\n\n"
        "The link works once. If you did not ask for this, ignore this e-mail: your "
        "password stays as it is.\n"
    )


async def request_password_reset(
    db: Database,
    settings: Settings,
    mailer: Mailer,
    email: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> None:
    """Send a reset link if the account exists and is enabled; the same answer otherwise."""
    message = "too many password reset requests"
    if ip:
        await throttle.hit_limit(
            db, throttle.make_key("reset:ip", ip), throttle.RESET_PER_IP, now=now, message=message
        )
    address = normalise_email(email)
    await throttle.hit_limit(
        db,
        throttle.make_key("reset:acct", address),
        throttle.RESET_PER_ACCOUNT,
        now=now,
        message=message,
    )
    token = new_opaque_token(32)
    async with db.transaction() as session:
        user = await session.scalar(select(User).where(User.email == address))
        if user is None or user.disabled:
            return
        session.add(
            ResetToken(
                user_id=user.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + RESET_TOKEN_LIFETIME,
            )
        )
        audit.record(session, None, "user.password_reset_requested", "user", user.id, {}, ip)
    mailer.send_in_background(
        address, RESET_SUBJECT, reset_email_text(address, reset_link(settings, token))
    )


async def reset_password(
    db: Database, token: str, new_password: str, *, now: datetime, ip: str | None = None
) -> User:
    """Set a new password with a reset link's token; the link is used up."""
    check_password_rules(new_password, field="password")
    if not token or len(token) > 200:
        raise ValidationError(_INVALID, field="token")
    token_hash = hash_token(token)
    async with db.session() as session:
        exists = await session.scalar(
            select(ResetToken.id).where(ResetToken.token_hash == token_hash)
        )
    if exists is None:
        # Refused before spending argon2 time on a hash nobody will store.
        raise ValidationError(_INVALID, field="token")
    password_hash = await hash_password_async(new_password)
    async with db.transaction() as session:
        reset = await session.scalar(
            select(ResetToken).where(ResetToken.token_hash == token_hash).with_for_update()
        )
        if reset is None:
            raise ValidationError(_INVALID, field="token")
        if reset.used_at is not None:
            raise ValidationError(
                "this reset link has already been used; request a new one", field="token"
            )
        if reset.expires_at <= now:
            raise ValidationError(
                "this reset link has expired (links last 30 minutes); request a new one",
                field="token",
            )
        user = await session.get(User, reset.user_id, with_for_update=True)
        if user is None or user.disabled:
            raise ValidationError(_INVALID, field="token")
        user.password_hash = password_hash
        user.tokens_valid_after = now  # access tokens issued before the reset stop working
        await emit_account_changed(session, user.id, "password_reset")
        # This link and every other outstanding link of the account are spent.
        await session.execute(
            update(ResetToken)
            .where(ResetToken.user_id == user.id, ResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        revoked = await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        audit.record(
            session,
            principal_for(user),
            "user.password_reset",
            "user",
            user.id,
            {"sessions_revoked": int(getattr(revoked, "rowcount", 0) or 0)},
            ip,
        )
    # The owner proved it through their mailbox: their slowed sign-ins start over.
    await throttle.reset_prefix(db, throttle.login_pair_prefix(user.email))
    return user
