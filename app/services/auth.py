"""Signing in and staying signed in: register, login, refresh, logout, and who is calling.

Sessions are a pair: a short-lived access JWT (`Authorization: Bearer …`, 15 minutes by
default) and an opaque refresh token stored hashed. Every refresh rotates the refresh
token; the tokens descending from one login form a family, and presenting a token that was
already rotated (a copy in someone else's hands) revokes the whole family, so the thief and
the owner are both signed out and the owner signs in again.

`authenticate` loads the user on every call (one primary-key lookup), so a disabled
account or a changed role takes effect on the next request, not when the JWT expires.
Account-administration use cases (roles, disabling, creating users) live here too, each
with an audit entry written in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database
from app.db.models import RefreshToken, User
from app.domain.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationError
from app.feed.events import emit_account_changed
from app.services import api_tokens, audit, password_reset, throttle, users
from app.services.access import Principal, ensure_admin
from app.services.mail import Mailer
from app.services.passwords import (
    DUMMY_HASH,
    check_password_rules,
    hash_password_async,
    verify_password_async,
)
from app.services.tokens import (
    decode_access_token,
    encode_access_token,
    epoch_microseconds,
    hash_token,
    is_api_token,
    new_opaque_token,
)

# What `authenticate` reads of the account: a Principal's columns and those of the checks.
# Built once (building a statement costs about as much CPU as running it).
ACCOUNT = select(User.id, User.email, User.role, User.disabled, User.tokens_valid_after).where(
    User.id == bindparam("user_id")
)

WRONG_CREDENTIALS = "wrong e-mail or password"
ACCOUNT_THROTTLED = "too many failed sign-in attempts for this account from your address"
ADDRESS_THROTTLED = "too many failed sign-in attempts from your address"
MAX_TOKEN_LENGTH = 4096


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    user: User
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


class AuthService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        mailer: Mailer | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.mailer = mailer or Mailer(settings)
        self.clock = clock or _utcnow
        self.access_lifetime = timedelta(minutes=settings.access_token_minutes)
        self.refresh_lifetime = timedelta(days=settings.refresh_token_days)
        self.login_backoff, self.login_ip_limit = throttle.login_limits(settings)
        # `authenticate` reads one row per request with one statement. On PostgreSQL it runs
        # in autocommit: the statement is its own transaction (the same snapshot a one-read
        # transaction has) without the BEGIN and ROLLBACK round trips around it.
        self._account_reads = (
            db.engine.execution_options(isolation_level="AUTOCOMMIT")
            if db.is_postgres
            else db.engine
        )

    # ----------------------------------------------------------------- sessions

    async def register(self, email: str, password: str, *, ip: str | None = None) -> User:
        """Self-service sign-up (a member; the very first account becomes admin)."""
        if not self.settings.allow_signup:
            raise Forbidden("sign-up is closed; ask an admin for an account")
        return await users.create_user(
            self.db, email, password, role="member", ip=ip, action="user.registered"
        )

    async def login(
        self,
        email: str,
        password: str,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair:
        now = self.clock()
        address = email.strip().lower()
        # Failures slow down guesses at this account from this address only (progressive
        # delays), so an attacker cannot lock the owner out; the per-address limit stops a
        # spray across accounts. Both are checked before the password costs any argon2.
        pair_key = throttle.login_pair_key(address, ip)
        ip_key = throttle.make_key("login:ip", ip) if ip else None
        if ip_key is not None:
            await throttle.check(self.db, [ip_key], now=now, message=ADDRESS_THROTTLED)
        await throttle.check(self.db, [pair_key], now=now, message=ACCOUNT_THROTTLED)

        async with self.db.session() as session:
            user = await session.scalar(select(User).where(User.email == address))
        # Unknown accounts are checked against a dummy hash: same answer, similar time.
        matches, new_hash = await verify_password_async(
            password, user.password_hash if user is not None else DUMMY_HASH
        )
        if user is None or not matches or user.disabled:
            await throttle.hit_backoff(self.db, pair_key, self.login_backoff, now=now)
            if ip_key is not None:
                await throttle.hit_limit(
                    self.db, ip_key, self.login_ip_limit, now=now, message=ADDRESS_THROTTLED
                )
            raise Unauthenticated(WRONG_CREDENTIALS)

        await throttle.reset(self.db, pair_key)
        async with self.db.transaction() as session:
            fresh = await session.get(User, user.id, with_for_update=True)
            if fresh is None or fresh.disabled:
                raise Unauthenticated(WRONG_CREDENTIALS)
            if new_hash is not None and fresh.password_hash == user.password_hash:
                fresh.password_hash = new_hash  # argon2 parameters were raised since
            fresh.last_login_at = now
            return self._issue(
                session, fresh, new_opaque_token(16), now=now, ip=ip, user_agent=user_agent
            )

    async def refresh(
        self, refresh_token: str, *, ip: str | None = None, user_agent: str | None = None
    ) -> TokenPair:
        """Trade a refresh token for a new pair; the old refresh token is used up."""
        now = self.clock()
        if not refresh_token or len(refresh_token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated("refresh token is not valid; sign in again")
        token_hash = hash_token(refresh_token)
        failure: str | None = None
        pair: TokenPair | None = None
        async with self.db.transaction() as session:
            stored = await session.scalar(
                select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
            )
            if stored is None:
                failure = "refresh token is not valid; sign in again"
            elif stored.revoked_at is not None:
                failure = "this session was signed out; sign in again"
            elif stored.used_at is not None:
                # Someone is replaying a rotated token: end every session of this family.
                await self._revoke_family(session, stored.family_id, now)
                failure = "refresh token was already used; for safety this session was signed out"
            elif stored.expires_at <= now:
                failure = "session expired; sign in again"
            else:
                user = await session.get(User, stored.user_id)
                if user is None or user.disabled:
                    await self._revoke_family(session, stored.family_id, now)
                    failure = "this account is disabled; ask an admin"
                else:
                    stored.used_at = now
                    pair = self._issue(
                        session, user, stored.family_id, now=now, ip=ip, user_agent=user_agent
                    )
        # Raised after the commit, so a revoked family stays revoked.
        if failure is not None or pair is None:
            raise Unauthenticated(failure or "refresh token is not valid; sign in again")
        return pair

    async def logout(self, refresh_token: str) -> None:
        """Sign out the session (the whole family of this refresh token); unknown: no-op."""
        if not refresh_token or len(refresh_token) > MAX_TOKEN_LENGTH:
            return
        now = self.clock()
        async with self.db.transaction() as session:
            family = await session.scalar(
                select(RefreshToken.family_id).where(
                    RefreshToken.token_hash == hash_token(refresh_token)
                )
            )
            if family is not None:
                await self._revoke_family(session, family, now)

    async def logout_all(self, user_id: int) -> None:
        """Sign out every session of the user (access tokens still run out their minutes)."""
        now = self.clock()
        async with self.db.transaction() as session:
            await self._revoke_all_sessions(session, user_id, now)
            await emit_account_changed(session, user_id, "signed_out")

    async def authenticate(self, authorization: str | None) -> Principal | None:
        """The caller of a request: None when no credentials were sent.

        Accepts an `Authorization` header value (`Bearer <jwt>`, `Bearer dts_…`) or the
        bare token. Anything sent that does not check out raises Unauthenticated.
        """
        if authorization is None or not authorization.strip():
            return None
        value = authorization.strip()
        scheme, _, rest = value.partition(" ")
        if rest:
            if scheme.lower() != "bearer":
                raise Unauthenticated(
                    f"unsupported authorization scheme {scheme[:20]!r}; send 'Bearer <token>'"
                )
            value = rest.strip()
        if value.lower() == "bearer":
            raise Unauthenticated("the Authorization header has no token after 'Bearer'")
        if len(value) > MAX_TOKEN_LENGTH:
            raise Unauthenticated("access token is malformed; sign in again")
        if is_api_token(value):
            return await api_tokens.authenticate_api_token(self.db, value, clock=self.clock)
        claims = decode_access_token(self.settings.jwt_secret, value, now=self.clock())
        async with self._account_reads.connect() as connection:
            user = (await connection.execute(ACCOUNT, {"user_id": claims.user_id})).first()
        if user is None:
            raise Unauthenticated("this account no longer exists")
        if user.disabled:
            raise Unauthenticated("this account is disabled; ask an admin")
        cutoff = user.tokens_valid_after
        # Compared in microseconds: a token issued earlier in the same second as a sign-out
        # everywhere or a password change is refused as well.
        if cutoff is not None and claims.issued_at_us < epoch_microseconds(cutoff):
            raise Unauthenticated("this session was signed out; sign in again")
        # The role comes from the database, not the token: a change applies at once.
        return Principal(
            user_id=user.id,
            email=user.email,
            role=user.role,
            expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        )

    # ------------------------------------------------------------ password reset

    async def request_password_reset(self, email: str, *, ip: str | None = None) -> None:
        await password_reset.request_password_reset(
            self.db, self.settings, self.mailer, email, now=self.clock(), ip=ip
        )

    async def reset_password(self, token: str, new_password: str, *, ip: str | None = None) -> None:
        await password_reset.reset_password(self.db, token, new_password, now=self.clock(), ip=ip)

    async def change_password(
        self,
        principal: Principal,
        old: str,
        new: str,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair:
        """Change one's own password; every other session is signed out.

        Returns a fresh session for the caller so they stay signed in.
        """
        if principal.via_token:
            raise Forbidden("API tokens cannot change the account password; sign in instead")
        check_password_rules(new, field="newPassword")
        now = self.clock()
        user = await users.get_user(self.db, principal.user_id)
        if user is None or user.disabled:
            raise Unauthenticated("this account is disabled; ask an admin")
        # A stolen session guessing the current password is slowed like a sign-in.
        pair_key = throttle.login_pair_key(user.email, ip)
        await throttle.check(self.db, [pair_key], now=now, message=ACCOUNT_THROTTLED)
        matches, _ = await verify_password_async(old, user.password_hash)
        if not matches:
            await throttle.hit_backoff(self.db, pair_key, self.login_backoff, now=now)
            raise ValidationError("the current password is wrong", field="oldPassword")
        password_hash = await hash_password_async(new)
        async with self.db.transaction() as session:
            fresh = await session.get(User, user.id, with_for_update=True)
            if fresh is None or fresh.password_hash != user.password_hash:
                raise Conflict("the password was changed meanwhile; sign in again")
            fresh.password_hash = password_hash
            await self._revoke_all_sessions(session, fresh.id, now)
            await emit_account_changed(session, fresh.id, "password_changed")
            audit.record(session, principal, "user.password_changed", "user", fresh.id, {}, ip)
            return self._issue(
                session, fresh, new_opaque_token(16), now=now, ip=ip, user_agent=user_agent
            )

    # ------------------------------------------------------------ administration

    async def list_users(self, principal: Principal) -> list[User]:
        ensure_admin(principal)
        async with self.db.session() as session:
            return list((await session.scalars(select(User).order_by(User.id))).all())

    async def create_user_as_admin(
        self,
        principal: Principal,
        email: str,
        password: str,
        role: str,
        *,
        ip: str | None = None,
    ) -> User:
        self._ensure_admin_write(principal)
        users.check_role(role)
        return await users.create_user(
            self.db, email, password, role=role, actor=principal, ip=ip, action="user.created"
        )

    async def set_user_role(
        self, principal: Principal, user_id: int, role: str, *, ip: str | None = None
    ) -> User:
        self._ensure_admin_write(principal)
        users.check_role(role)
        async with self.db.transaction() as session:
            await users.lock_accounts(self.db, session)
            user = await self._locked_user(session, user_id)
            previous = user.role
            if previous == role:
                return user
            if previous == "admin" and not user.disabled:
                await self._ensure_other_admin(session, user, principal, "change the role of")
            user.role = role
            await emit_account_changed(session, user.id, "role")
            audit.record(
                session,
                principal,
                "user.role_changed",
                "user",
                user.id,
                {"email": user.email, "from": previous, "to": role},
                ip,
            )
        return user

    async def set_user_disabled(
        self, principal: Principal, user_id: int, disabled: bool, *, ip: str | None = None
    ) -> User:
        self._ensure_admin_write(principal)
        now = self.clock()
        async with self.db.transaction() as session:
            await users.lock_accounts(self.db, session)
            user = await self._locked_user(session, user_id)
            if user.disabled == disabled:
                return user
            if disabled and user.role == "admin":
                await self._ensure_other_admin(session, user, principal, "disable")
            user.disabled = disabled
            if disabled:
                await self._revoke_all_sessions(session, user.id, now)
            await emit_account_changed(session, user.id, "disabled" if disabled else "enabled")
            audit.record(
                session,
                principal,
                "user.disabled" if disabled else "user.enabled",
                "user",
                user.id,
                {"email": user.email},
                ip,
            )
        return user

    # ----------------------------------------------------------------- internals

    def _issue(
        self,
        session: AsyncSession,
        user: User,
        family_id: str,
        *,
        now: datetime,
        ip: str | None,
        user_agent: str | None,
    ) -> TokenPair:
        refresh_token = new_opaque_token(32)
        session.add(
            RefreshToken(
                user_id=user.id,
                token_hash=hash_token(refresh_token),
                family_id=family_id,
                created_at=now,
                expires_at=now + self.refresh_lifetime,
                user_agent=_clip(user_agent, 255),
                ip=_clip(ip, 64),
            )
        )
        access_token = encode_access_token(
            self.settings.jwt_secret,
            user_id=user.id,
            role=user.role,
            now=now,
            lifetime=self.access_lifetime,
        )
        return TokenPair(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=int(self.access_lifetime.total_seconds()),
            user=user,
        )

    @staticmethod
    async def _revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    @staticmethod
    async def _revoke_all_sessions(session: AsyncSession, user_id: int, now: datetime) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        # Access tokens already handed out stop working too, not only at their expiry.
        await session.execute(update(User).where(User.id == user_id).values(tokens_valid_after=now))

    @staticmethod
    def _ensure_admin_write(principal: Principal) -> None:
        ensure_admin(principal)
        if principal.scope != "write":
            raise Forbidden(
                "this API token is read-only; create a read-write token to make changes"
            )

    @staticmethod
    async def _locked_user(session: AsyncSession, user_id: int) -> User:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("user not found")
        return user

    @staticmethod
    async def _ensure_other_admin(
        session: AsyncSession, user: User, principal: Principal, verb: str
    ) -> None:
        """Refuse a change that would leave no enabled admin."""
        if await users.count_active_admins(session) <= 1:
            who = "yourself" if user.id == principal.user_id else user.email
            raise Conflict(
                f"cannot {verb} {who}: this is the last admin; make another user admin first"
            )
