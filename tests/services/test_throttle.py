"""Rate limits in the database: counted across processes, blocking with a retry time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import RateLimit
from app.domain.errors import RateLimited, Unauthenticated, ValidationError
from app.services import throttle
from app.services.access import Principal
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


BACKOFF = throttle.LOGIN_PER_ACCOUNT_AND_IP


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(1, 0), (4, 0), (5, 1), (6, 2), (7, 4), (10, 32), (14, 512), (15, 900), (99, 900)],
)
def test_sign_in_delays_double_after_five_failures_up_to_fifteen_minutes(
    failures: int, delay: float
) -> None:
    assert BACKOFF.delay_after(failures) == delay


async def fail_login(auth: AuthService, ip: str, email: str = "ada@example.com") -> None:
    with pytest.raises(Unauthenticated, match="wrong e-mail or password"):
        await auth.login(email, "guess guess guess", ip=ip)


async def test_failed_sign_ins_slow_that_address_down_progressively(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    for _ in range(BACKOFF.free):
        await fail_login(auth, "10.0.0.1")
    # The next attempt from that address must wait 1 s, even with the right password
    # (refused before the password is looked at).
    with pytest.raises(
        RateLimited,
        match="too many failed sign-in attempts for this account from your address; "
        "try again in 1 second",
    ) as error:
        await auth.login("Ada@example.com", PASSWORD, ip="10.0.0.1")
    assert error.value.retry_after == 1
    clock.advance(seconds=1)
    await fail_login(auth, "10.0.0.1")  # the 6th failure: now 2 s
    with pytest.raises(RateLimited) as error:
        await auth.login("ada@example.com", PASSWORD, ip="10.0.0.1")
    assert error.value.retry_after == 2
    for expected in (2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900):
        clock.advance(seconds=expected)
        await fail_login(auth, "10.0.0.1")
        with pytest.raises(RateLimited) as error:
            await auth.login("ada@example.com", PASSWORD, ip="10.0.0.1")
        assert error.value.retry_after == min(expected * 2, 900)
    clock.advance(minutes=15)
    await auth.login("ada@example.com", PASSWORD, ip="10.0.0.1")  # the wait is over
    # ... and the success cleared that address's counter: five free attempts again.
    for _ in range(BACKOFF.free):
        await fail_login(auth, "10.0.0.1")


async def test_the_owner_signs_in_from_another_address_during_an_attack(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    """No lockout: guesses from one address never lock the admin out of their account."""
    await add_user(db, "admin@example.com", role="admin")
    for _ in range(BACKOFF.free + 8):
        clock.advance(minutes=15)  # the attacker waits out every delay
        await fail_login(auth, "203.0.113.66", "admin@example.com")
    with pytest.raises(RateLimited):
        await auth.login("admin@example.com", PASSWORD, ip="203.0.113.66")
    pair = await auth.login("admin@example.com", PASSWORD, ip="198.51.100.7")
    assert pair.user.role == "admin"
    # The owner's success does not forgive the attacker's address.
    with pytest.raises(RateLimited):
        await auth.login("admin@example.com", PASSWORD, ip="203.0.113.66")


async def test_delays_are_per_account_and_forgotten_after_a_quiet_day(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    await add_user(db, "bob@example.com")
    for _ in range(BACKOFF.free):
        await fail_login(auth, "10.0.0.1")
    await auth.login("bob@example.com", PASSWORD, ip="10.0.0.1")  # another account: free
    clock.advance(seconds=BACKOFF.forget_after)
    await fail_login(auth, "10.0.0.1")  # counted from one again, so no delay follows
    await auth.login("ada@example.com", PASSWORD, ip="10.0.0.1")


async def test_the_sign_in_limits_follow_the_settings(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    tuned = settings.model_copy(
        update={"login_free_attempts": 2, "login_max_delay_seconds": 3, "login_ip_limit": 5}
    )
    auth = AuthService(db, tuned, clock=clock.now)
    await add_user(db, "ada@example.com")
    for expected in (1, 2, 3):
        await fail_login(auth, "10.0.0.1")
        if expected == 1:  # the first failure is still free
            await fail_login(auth, "10.0.0.1")
        with pytest.raises(RateLimited) as error:
            await auth.login("ada@example.com", PASSWORD, ip="10.0.0.1")
        assert error.value.retry_after == expected  # 1, 2, then capped at 3
        clock.advance(seconds=expected)
    # The 5th failure from 10.0.0.1 blocks that address for every account.
    await fail_login(auth, "10.0.0.1", "bob@example.com")
    with pytest.raises(RateLimited, match="from your address; try again in 15 minutes"):
        await auth.login("bob@example.com", PASSWORD, ip="10.0.0.1")


async def test_failed_logins_from_one_address_block_that_address(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    key = throttle.make_key("login:ip", "10.0.0.66")
    for _ in range(throttle.LOGIN_PER_IP.limit - 1):  # a spray across many accounts
        await throttle.hit_limit(db, key, throttle.LOGIN_PER_IP, now=clock.now())
    await fail_login(auth, "10.0.0.66", "someone@example.com")
    with pytest.raises(
        RateLimited, match="too many failed sign-in attempts from your address"
    ) as error:
        await auth.login("ada@example.com", PASSWORD, ip="10.0.0.66")
    assert error.value.retry_after == 15 * 60
    await auth.login("ada@example.com", PASSWORD, ip="10.0.0.67")


async def test_concurrent_failures_from_several_processes_are_all_counted(
    db: Database, database_url: str, clock: FakeClock
) -> None:
    other_process = Database(database_url)
    key = throttle.login_pair_key("ada@example.com", "10.0.0.1")
    try:
        await asyncio.gather(
            *(
                throttle.hit_backoff(db if i % 2 else other_process, key, BACKOFF, now=clock.now())
                for i in range(8)
            )
        )
    finally:
        await other_process.dispose()
    async with db.session() as session:
        row = await session.get(RateLimit, key)
    assert row is not None and row.hits == 8
    assert row.blocked_until is not None
    assert (row.blocked_until - clock.now()).total_seconds() == BACKOFF.delay_after(8)


async def test_a_wrong_current_password_is_slowed_like_a_sign_in(
    db: Database, auth: AuthService, clock: FakeClock
) -> None:
    user = await add_user(db, "ada@example.com")
    principal = Principal(user.id, user.email, user.role, "write", False)
    for _ in range(BACKOFF.free):
        with pytest.raises(ValidationError, match="current password is wrong"):
            await auth.change_password(principal, "guess guess", "a new secret 42", ip="10.0.0.1")
    with pytest.raises(RateLimited):
        await auth.change_password(principal, PASSWORD, "a new secret 42", ip="10.0.0.1")
    await auth.login("ada@example.com", PASSWORD, ip="10.0.0.2")  # not a lockout


async def test_long_keys_fit_and_idle_counters_are_pruned(db: Database, clock: FakeClock) -> None:
    long_key = throttle.login_pair_key("a" * 300 + "@example.com", "2001:db8::1")
    assert len(long_key) <= throttle.MAX_KEY_LENGTH and long_key.startswith("login:pair:sha256:")
    await hit(db, clock, long_key)
    for _ in range(3):
        await hit(db, clock, "test:blocked")
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert await throttle.prune(db, now=clock.now()) == 2
    async with db.session() as session:
        assert (await session.scalars(select(RateLimit.key))).all() == []
