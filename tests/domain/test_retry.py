"""Retry policy: validation, backoff with jitter, Retry-After, and what is retried."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from app.domain.errors import ValidationError
from app.domain.retry import (
    RETRY_AFTER_CAP,
    RetryPolicy,
    backoff_delay,
    decide_retry,
    parse_retry_after,
    retry_delay,
    should_retry,
)

DEFAULT = RetryPolicy()  # 3 attempts, 30 s initial, 600 s cap, x4
FAST = RetryPolicy(max_attempts=3, initial_delay=1, max_delay=300, multiplier=2)


def test_the_default_policy_rides_out_a_short_outage() -> None:
    """3 attempts: the first retry 15-30 s after the failure, the second 1-2 min after it."""
    assert DEFAULT.to_dict() == {
        "maxAttempts": 3,
        "initialDelay": 30.0,
        "maxDelay": 600.0,
        "multiplier": 4.0,
    }
    rng = random.Random(5)
    for _ in range(1000):
        first, second = backoff_delay(DEFAULT, 1, rng), backoff_delay(DEFAULT, 2, rng)
        assert 15 <= first <= 30 and 60 <= second <= 120


BAD_POLICIES = [
    ({"max_attempts": 0}, "retry.maxAttempts", "0 is out of range 1-100"),
    ({"max_attempts": 101}, "retry.maxAttempts", "101 is out of range 1-100"),
    ({"max_attempts": 2.5}, "retry.maxAttempts", "must be a whole number, got 2.5"),
    ({"max_attempts": True}, "retry.maxAttempts", "must be a whole number, got true"),
    ({"initial_delay": -1}, "retry.initialDelay", "-1 seconds is out of range 0-86400"),
    ({"initial_delay": float("inf")}, "retry.initialDelay", "must be a number, got inf"),
    ({"initial_delay": "5"}, "retry.initialDelay", "must be a number, got '5'"),
    ({"initial_delay": 10, "max_delay": 5}, "retry.maxDelay", "5 seconds is out of range 10-86400"),
    ({"max_delay": 90000}, "retry.maxDelay", "90000 seconds is out of range 30-86400"),
    ({"multiplier": 0.5}, "retry.multiplier", "0.5 is out of range 1-10"),
    ({"multiplier": 11}, "retry.multiplier", "11 is out of range 1-10"),
]


@pytest.mark.parametrize(("kwargs", "field", "message"), BAD_POLICIES)
def test_policy_validation(kwargs: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert message in err.value.message


def test_policy_edges_are_allowed() -> None:
    RetryPolicy(max_attempts=1, initial_delay=0, max_delay=0, multiplier=1)
    RetryPolicy(max_attempts=100, initial_delay=86400, max_delay=86400, multiplier=10)


def test_policy_from_and_to_dict() -> None:
    p = RetryPolicy.from_dict({"maxAttempts": 5, "initialDelay": 2})
    assert p == RetryPolicy(max_attempts=5, initial_delay=2)
    assert p.to_dict() == {
        "maxAttempts": 5,
        "initialDelay": 2,
        "maxDelay": 600.0,
        "multiplier": 4.0,
    }
    assert RetryPolicy.from_dict(None) == DEFAULT
    with pytest.raises(ValidationError) as err:
        RetryPolicy.from_dict({"retries": 3})
    assert err.value.field == "retry.retries"


CEILINGS = [
    # (policy, attempt that failed, the most the wait can be)
    (DEFAULT, 1, 30.0),
    (DEFAULT, 2, 120.0),
    (DEFAULT, 3, 480.0),
    (DEFAULT, 4, 600.0),  # 1920 capped at max_delay
    (FAST, 1, 1.0),
    (FAST, 2, 2.0),
    (FAST, 3, 4.0),
    (FAST, 9, 256.0),
    (FAST, 10, 300.0),  # 512 capped at max_delay
    (RetryPolicy(max_attempts=100, multiplier=10), 100, 600.0),
    (RetryPolicy(initial_delay=5, max_delay=5, multiplier=1), 7, 5.0),
    (RetryPolicy(initial_delay=0, max_delay=0), 3, 0.0),
]


@pytest.mark.parametrize(("policy", "attempt", "ceiling"), CEILINGS)
def test_jitter_stays_between_half_the_ceiling_and_the_ceiling(
    policy: RetryPolicy, attempt: int, ceiling: float
) -> None:
    rng = random.Random(1)
    delays = [backoff_delay(policy, attempt, rng) for _ in range(2000)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    if ceiling:  # spread over the whole upper half, so failures together retry apart
        assert min(delays) < ceiling * 0.525 and max(delays) > ceiling * 0.975


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    a = [backoff_delay(FAST, n, random.Random(7)) for n in range(1, 6)]
    b = [backoff_delay(FAST, n, random.Random(7)) for n in range(1, 6)]
    assert a == b


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        backoff_delay(DEFAULT, 0)


NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)

RETRY_AFTER = [
    ("120", 120.0),
    (" 5 ", 5.0),
    ("0", 0.0),
    ("1.5", 1.5),
    ("86400", RETRY_AFTER_CAP),  # capped at one hour
    ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),  # IMF-fixdate
    ("Wednesday, 21-Oct-15 07:29:00 GMT", 60.0),  # RFC 850
    ("Wed Oct 21 07:30:00 2015", 120.0),  # asctime, read as UTC
    ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past
    ("Thu, 22 Oct 2015 07:28:00 GMT", RETRY_AFTER_CAP),
    ("-5", None),
    ("soon", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("header", "seconds"), RETRY_AFTER)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_retry_after_wins_when_longer_than_the_backoff() -> None:
    rng = random.Random(3)
    assert retry_delay(FAST, 1, 30.0, rng) == 30.0  # backoff is at most 1 s
    assert retry_delay(FAST, 1, 900.0, rng) == 900.0  # above max_delay: the server asked
    assert retry_delay(FAST, 1, 10**9, rng) == RETRY_AFTER_CAP
    long_backoff = RetryPolicy(initial_delay=100, max_delay=100)
    assert retry_delay(long_backoff, 1, 0.5, random.Random(3)) == backoff_delay(
        long_backoff, 1, random.Random(3)
    )
    assert 1 <= retry_delay(FAST, 2, None, rng) <= 2


DECISIONS = [
    # (outcome, attempt, http status, exit code, retried?, reason contains)
    ("timed_out", 1, None, None, True, "timed out"),
    ("connection_error", 1, None, None, True, "connection failed"),
    ("lost", 1, None, None, True, "worker"),
    ("failed", 1, 500, None, True, "HTTP 500 is a server error"),
    ("failed", 1, 503, None, True, "HTTP 503"),
    ("failed", 1, 429, None, True, "HTTP 429"),
    ("failed", 1, 408, None, True, "HTTP 408"),
    ("failed", 1, 404, None, False, "HTTP 404 is not retried"),
    ("failed", 1, 400, None, False, "HTTP 400"),
    ("failed", 1, 401, None, False, "HTTP 401"),
    ("failed", 1, None, 1, True, "exited with code 1"),
    ("failed", 1, None, -9, True, "code -9"),
    ("failed", 1, None, None, False, "not retried"),
    ("succeeded", 1, 200, None, False, "succeeded"),
    ("succeeded", 1, None, 0, False, "succeeded"),
    ("cancelled", 1, None, None, False, "cancelled"),
    ("failed", 2, 500, None, True, "server error"),
    ("failed", 3, 500, None, False, "all 3 attempts are used up"),  # the last attempt
    ("timed_out", 3, None, None, False, "used up"),
]


@pytest.mark.parametrize(("outcome", "attempt", "status", "code", "retry", "reason"), DECISIONS)
def test_what_is_retried(
    outcome: str, attempt: int, status: int | None, code: int | None, retry: bool, reason: str
) -> None:
    d = decide_retry(outcome, attempt, DEFAULT, http_status=status, exit_code=code)  # type: ignore[arg-type]
    assert (d.retry, reason in d.reason) == (retry, True), d.reason
    assert should_retry(outcome, attempt, DEFAULT, http_status=status, exit_code=code) is retry  # type: ignore[arg-type]


def test_one_attempt_means_no_retries() -> None:
    assert not should_retry("timed_out", 1, RetryPolicy(max_attempts=1))
