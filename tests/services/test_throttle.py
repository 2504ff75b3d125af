"""Rate limits in the database: counted across processes, blocking with a retry time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.db.models import RateLimit
from app.domain.errors import RateLimited, Unauthenticated
from app.services import throttle
from app.services.auth import AuthService
from tests.conftest import FakeClock
from tests.services.conftest import PASSWORD, add_user

LIMIT = throttle.Limit(limit=3, window_seconds=60, block_seconds=300)


async def hit(db: Database, clock: FakeClock, key: str = "test:k") -> None:
    await throttle.hit_limit(db, key, LIMIT, now=clock.now())


async def test_the_attempt_after_the_limit_is_refused_with_a_retry_time(
    db: Database, clock: FakeClock
) -> None:
    for _ in range(3):
        await hit(db, clock)
    clock.advance(seconds=100)
    with pytest.raises(RateLimited, match="too many attempts; try again in 4 minutes") as error:
        await hit(db, clock)
    assert error.value.retry_after == 200
    await hit(db, clock, "test:other")  # keys are independent
    clock.advance(seconds=200)
    await hit(db, clock)  # the block is over: a fresh window


async def test_a_window_that_ends_below_the_limit_starts_over(
    db: Database, clock: FakeClock
) -> None:
    for _ in range(2):
        await hit(db, clock)
    clock.advance(seconds=61)
    for _ in range(2):
        await hit(db, clock)
    await throttle.check(db, ["test:k"], now=clock.now())  # not blocked


async def test_counters_hold_across_processes(
    db: Database, database_url: str, clock: FakeClock
) -> None:
    other_process = Database(database_url)
    try:
        await hit(db, clock)
        await hit(other_process, clock)
        await hit(db, clock)
        with pytest.raises(RateLimited):
            await throttle.check(other_process, ["test:k"], now=clock.now())
        with pytest.raises(RateLimited):
            await hit(other_process, clock)
    finally:
        await other_process.dispose()


async def test_concurrent_attempts_are_all_counted(
    db: Database, database_url: str, clock: FakeClock
) -> None:
    other_process = Database(database_url)
    try:
        outcomes = await asyncio.gather(
            *(hit(db if i % 2 else other_process, clock) for i in range(8)),
            return_exceptions=True,
        )
    finally:
        await other_process.dispose()
    refused = [o for o in outcomes if isinstance(o, RateLimited)]
    assert len(refused) == 5 and all(o is None for o in outcomes if o not in refused)


async def test_failed_logins_lock_the_account_then_let_go(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    for _ in range(throttle.LOGIN_PER_ACCOUNT.limit):
        with pytest.raises(Unauthenticated):
            await auth.login("ada@example.com", "guess guess guess", ip="10.0.0.1")
    # Even the right password is refused now, from any address, without checking it.
    with pytest.raises(RateLimited, match="too many failed sign-in attempts") as error:
        await auth.login("Ada@example.com", PASSWORD, ip="10.0.0.2")
    assert error.value.retry_after == 15 * 60
    clock.advance(minutes=15)
    await auth.login("ada@example.com", PASSWORD, ip="10.0.0.2")


async def test_a_successful_login_clears_the_account_counter(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    key = throttle.make_key("login:acct", "ada@example.com")
    for _ in range(throttle.LOGIN_PER_ACCOUNT.limit - 1):
        await throttle.hit_limit(db, key, throttle.LOGIN_PER_ACCOUNT, now=clock.now())
    await auth.login("ada@example.com", PASSWORD)
    async with db.session() as session:
        assert await session.get(RateLimit, key) is None


async def test_failed_logins_from_one_address_block_that_address(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    key = throttle.make_key("login:ip", "10.0.0.66")
    for _ in range(throttle.LOGIN_PER_IP.limit - 1):  # a spray across many accounts
        await throttle.hit_limit(db, key, throttle.LOGIN_PER_IP, now=clock.now())
    with pytest.raises(Unauthenticated):
        await auth.login("someone@example.com", "guess guess guess", ip="10.0.0.66")
    with pytest.raises(RateLimited):
        await auth.login("ada@example.com", PASSWORD, ip="10.0.0.66")
    await auth.login("ada@example.com", PASSWORD, ip="10.0.0.67")


async def test_long_keys_fit_and_idle_counters_are_pruned(db: Database, clock: FakeClock) -> None:
    long_key = throttle.make_key("login:acct", "a" * 300 + "@example.com")
    assert len(long_key) <= throttle.MAX_KEY_LENGTH and long_key.startswith("login:acct:sha256:")
    await hit(db, clock, long_key)
    for _ in range(3):
        await hit(db, clock, "test:blocked")
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert await throttle.prune(db, now=clock.now()) == 2
    async with db.session() as session:
        assert (await session.scalars(select(RateLimit.key))).all() == []
