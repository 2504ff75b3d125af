"""Rate limits kept in the database (`rate_limits`), so they hold across API processes.

Two kinds of counter share the table, one row per key:

- a fixed window (`login:ip:<ip>`, `reset:ip:<ip>`, `reset:acct:<email>`): `hit` counts
  one attempt; the attempt that reaches the limit is still allowed but blocks the key for
  `block_seconds`; while blocked, `hit` raises RateLimited with the time left;
- a progressive delay (`login:pair:<email>|<ip>`, failed sign-ins for one account from one
  address): `hit_backoff` counts one failure; after `free` failures each one makes the
  next attempt wait, twice as long each time, up to a cap. No account is ever locked for
  everyone: the owner signing in from another address has a counter of their own.

`check` refuses (RateLimited, with the time left) while any of the given keys is blocked.
A row is locked while it is counted (BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL),
so concurrent attempts from several processes are all counted.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database
from app.db.models import RateLimit
from app.domain.errors import RateLimited

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Limit:
    """At most `limit` attempts per `window_seconds`; then refused for `block_seconds`."""

    limit: int
    window_seconds: float
    block_seconds: float


@dataclass(frozen=True)
class Backoff:
    """`free` failures pass; then each failure makes the next attempt wait `first_delay`
    seconds, doubling per failure up to `max_delay`. A key with no failure for
    `forget_after` seconds starts over."""

    free: int
    first_delay: float
    max_delay: float
    forget_after: float

    def delay_after(self, failures: int) -> float:
        """The wait imposed after the `failures`-th consecutive failure (0: none)."""
        if failures < self.free:
            return 0.0
        doublings = min(failures - self.free, 64)  # 2**64 s is past any cap
        return float(min(self.max_delay, self.first_delay * 2**doublings))


# Failed sign-ins for one account from one address (a guessing attack on that account):
# after 5, the next attempt from that address waits 1 s, then 2, 4 … up to 15 minutes.
# A successful sign-in from that address, or a password reset, clears it. These are the
# defaults; DTS_LOGIN_FREE_ATTEMPTS, DTS_LOGIN_MAX_DELAY_SECONDS and DTS_LOGIN_IP_LIMIT
# change them (`login_limits`).
LOGIN_PER_ACCOUNT_AND_IP = Backoff(
    free=5, first_delay=1.0, max_delay=15 * 60, forget_after=24 * 3600
)
# Failed sign-ins from one address whatever the account (a spray across many accounts).
LOGIN_PER_IP = Limit(limit=20, window_seconds=15 * 60, block_seconds=15 * 60)


def login_limits(settings: Settings) -> tuple[Backoff, Limit]:
    """The sign-in backoff per (account, address) and the limit per address, as configured."""
    backoff = replace(
        LOGIN_PER_ACCOUNT_AND_IP,
        free=settings.login_free_attempts,
        max_delay=settings.login_max_delay_seconds,
    )
    return backoff, replace(LOGIN_PER_IP, limit=settings.login_ip_limit)


# Password-reset requests: per address, and per target account against mail-bombing.
RESET_PER_IP = Limit(limit=5, window_seconds=60 * 60, block_seconds=60 * 60)
RESET_PER_ACCOUNT = Limit(limit=5, window_seconds=60 * 60, block_seconds=60 * 60)


def make_key(kind: str, value: str) -> str:
    """`kind:value`, with over-long values (e-mails may be 320 characters) hashed to fit."""
    key = f"{kind}:{value}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"{kind}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def describe_wait(seconds: float) -> str:
    if seconds < 90:
        whole = max(1, math.ceil(seconds))
        return "1 second" if whole == 1 else f"{whole} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _refuse(message: str, blocked_until: datetime, now: datetime) -> RateLimited:
    wait = max(1.0, math.ceil((blocked_until - now).total_seconds()))
    return RateLimited(f"{message}; try again in {describe_wait(wait)}", retry_after=wait)


async def _locked_row(session: AsyncSession, db: Database, key: str, now: datetime) -> RateLimit:
    """The counter row of `key`, made (empty, window starting now) if missing, locked for
    the rest of the transaction so concurrent attempts count one after another."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    await session.execute(
        insert(RateLimit)
        .values(key=key, hits=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = await session.scalar(
        select(RateLimit)
        .where(RateLimit.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None  # inserted above if it was missing
    return row


async def hit(
    db: Database,
    key: str,
    *,
    limit: int,
    window_seconds: float,
    block_seconds: float,
    now: datetime,
    message: str = "too many attempts",
) -> None:
    """Count one attempt against `key`; raise RateLimited if the key is blocked."""
    blocked_until: datetime | None = None
    async with db.transaction() as session:
        row = await _locked_row(session, db, key, now)
        if row.blocked_until is not None and row.blocked_until > now:
            blocked_until = row.blocked_until
        else:
            window_over = now - row.window_started_at >= timedelta(seconds=window_seconds)
            if row.blocked_until is not None or window_over:
                row.hits = 0
                row.window_started_at = now
                row.blocked_until = None
            row.hits += 1
            if row.hits >= limit:
                row.blocked_until = now + timedelta(seconds=block_seconds)
    # Raised after the commit: the attempt must stay counted.
    if blocked_until is not None:
        raise _refuse(message, blocked_until, now)


async def hit_limit(
    db: Database, key: str, limit: Limit, *, now: datetime, message: str = "too many attempts"
) -> None:
    await hit(
        db,
        key,
        limit=limit.limit,
        window_seconds=limit.window_seconds,
        block_seconds=limit.block_seconds,
        now=now,
        message=message,
    )


async def hit_backoff(db: Database, key: str, backoff: Backoff, *, now: datetime) -> float:
    """Count one failure against `key`; returns the wait it imposes on the next attempt.

    `hits` holds the consecutive failures, `window_started_at` the latest one (for
    `forget_after`), `blocked_until` when the next attempt may come.
    """
    async with db.transaction() as session:
        row = await _locked_row(session, db, key, now)
        if now - row.window_started_at >= timedelta(seconds=backoff.forget_after):
            row.hits = 0
        row.hits += 1
        row.window_started_at = now
        delay = backoff.delay_after(row.hits)
        row.blocked_until = now + timedelta(seconds=delay) if delay else None
    return delay


async def check(
    db: Database, keys: Iterable[str], *, now: datetime, message: str = "too many attempts"
) -> None:
    """Raise RateLimited if any of `keys` is blocked now; counts nothing."""
    wanted = list(keys)
    if not wanted:
        return
    async with db.session() as session:
        latest = await session.scalar(
            select(RateLimit.blocked_until)
            .where(RateLimit.key.in_(wanted), RateLimit.blocked_until > now)
            .order_by(RateLimit.blocked_until.desc())
            .limit(1)
        )
    if latest is not None:
        raise _refuse(message, latest, now)


async def reset(db: Database, key: str) -> None:
    async with db.transaction() as session:
        await session.execute(delete(RateLimit).where(RateLimit.key == key))


async def reset_prefix(db: Database, prefix: str) -> None:
    """Delete every counter whose key starts with `prefix` (taken literally, no wildcards)."""
    async with db.transaction() as session:
        await session.execute(
            delete(RateLimit).where(RateLimit.key.startswith(prefix, autoescape=True))
        )


def login_pair_key(email: str, ip: str | None) -> str:
    """The counter of failed sign-ins for one account from one address."""
    return make_key("login:pair", f"{email}|{ip or 'unknown'}")


def login_pair_prefix(email: str) -> str:
    """What every `login_pair_key` of one account starts with (when not hashed)."""
    return f"login:pair:{email}|"


async def prune(db: Database, *, now: datetime, idle_seconds: float = 24 * 3600) -> int:
    """Delete counters idle for `idle_seconds` and no longer blocking; returns how many."""
    cutoff = now - timedelta(seconds=idle_seconds)
    async with db.transaction() as session:
        result = await session.execute(
            delete(RateLimit).where(
                RateLimit.window_started_at < cutoff,
                or_(RateLimit.blocked_until.is_(None), RateLimit.blocked_until < now),
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)
