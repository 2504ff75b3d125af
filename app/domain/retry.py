"""Retry policy: which failed attempts are retried, and how long to wait before the next one.

Backoff is exponential with jitter: before attempt n+1 we wait a uniform random time in
[c/2, c], c = min(max_delay, initial_delay * multiplier ** (n - 1)), so that many jobs
failing together do not retry together, yet every wait is at least half the backoff. (Full
jitter, [0, c], would sometimes retry a second after the failure: no help against the
short outage retries are for.)

The defaults ride out a short outage of the target: 3 attempts, the first retry 15–30 s
after the failure, the second 1–2 min after that (factor 4, capped at 10 minutes).

Retry-After (from a 429 or 503) is honoured: the wait is max(Retry-After, jittered backoff).
A server's Retry-After may exceed `max_delay`, because retrying sooner than the server asked
almost always fails again and spends an attempt; it is capped at RETRY_AFTER_CAP (one hour)
so that a wrong header cannot park a job for days.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from app.domain.errors import ValidationError, shown

__all__ = [
    "DEFAULT_INITIAL_DELAY",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_DELAY",
    "DEFAULT_MULTIPLIER",
    "MAX_ATTEMPTS",
    "MAX_DELAY",
    "RETRY_AFTER_CAP",
    "AttemptOutcome",
    "RetryDecision",
    "RetryPolicy",
    "backoff_delay",
    "decide_retry",
    "parse_retry_after",
    "retry_delay",
    "should_retry",
]

MAX_ATTEMPTS = 100
# The policy a job gets when its input says nothing about retries (see the module docstring).
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_INITIAL_DELAY = 30.0
DEFAULT_MAX_DELAY = 600.0
DEFAULT_MULTIPLIER = 4.0
MAX_DELAY = 86400.0  # one day: the longest backoff a policy may ask for
MAX_MULTIPLIER = 10.0
RETRY_AFTER_CAP = 3600.0

# How an attempt ended, as the executor reports it. "lost" is a run whose worker died (its
# lease expired); "failed" is anything else that went wrong, qualified by the HTTP status or
# the exit code when there is one.
AttemptOutcome = Literal[
    "succeeded", "failed", "timed_out", "connection_error", "cancelled", "lost"
]

_FIELDS = {
    "maxAttempts": "max_attempts",
    "initialDelay": "initial_delay",
    "maxDelay": "max_delay",
    "multiplier": "multiplier",
}


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"must be a number, got {shown(value)}", field=field)
    return float(value)


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts an occurrence gets (the first one included) and the backoff."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial_delay: float = DEFAULT_INITIAL_DELAY  # seconds
    max_delay: float = DEFAULT_MAX_DELAY  # seconds
    multiplier: float = DEFAULT_MULTIPLIER

    def __post_init__(self) -> None:
        attempts = self.max_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise ValidationError(
                f"must be a whole number, got {shown(attempts)}", field="retry.maxAttempts"
            )
        if not 1 <= attempts <= MAX_ATTEMPTS:
            raise ValidationError(
                f"{attempts} is out of range 1-{MAX_ATTEMPTS} (1 means no retries)",
                field="retry.maxAttempts",
            )
        initial = _number(self.initial_delay, "retry.initialDelay")
        if not 0 <= initial <= MAX_DELAY:
            raise ValidationError(
                f"{initial:g} seconds is out of range 0-{MAX_DELAY:g}", field="retry.initialDelay"
            )
        cap = _number(self.max_delay, "retry.maxDelay")
        if not initial <= cap <= MAX_DELAY:
            raise ValidationError(
                f"{cap:g} seconds is out of range {initial:g}-{MAX_DELAY:g} "
                "(at least initialDelay, at most one day)",
                field="retry.maxDelay",
            )
        multiplier = _number(self.multiplier, "retry.multiplier")
        if not 1 <= multiplier <= MAX_MULTIPLIER:
            raise ValidationError(
                f"{multiplier:g} is out of range 1-{MAX_MULTIPLIER:g} (1 keeps the delay constant)",
                field="retry.multiplier",
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> RetryPolicy:
        """From API/JSON input with camelCase keys; missing keys take the defaults."""
        if data is None:
            return cls()
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValidationError(
                f"unknown setting {unknown[0]!r}; use {', '.join(_FIELDS)}",
                field=f"retry.{unknown[0]}",
            )
        return cls(**{_FIELDS[k]: v for k, v in data.items()})  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, float | int]:
        return {key: getattr(self, attr) for key, attr in _FIELDS.items()}


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after attempt number `attempt` (1-based) failed: in [c/2, c]."""
    ceiling = _ceiling(policy, attempt)
    return (rng or random).uniform(ceiling / 2, ceiling)


def _ceiling(policy: RetryPolicy, attempt: int) -> float:
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    try:
        grown = policy.initial_delay * policy.multiplier ** (attempt - 1)
    except OverflowError:
        grown = math.inf
    return min(policy.max_delay, grown)


def retry_delay(
    policy: RetryPolicy,
    attempt: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The wait before the next attempt: the jittered backoff, or longer if the server said so."""
    delay = backoff_delay(policy, attempt, rng)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP-date), capped.

    None when the header is missing or unreadable (then only the backoff applies). A date in
    the past means 0. An HTTP-date without a zone is read as UTC, as HTTP requires.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.replace(".", "", 1).isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    reason: str  # for the run log: "HTTP 503 is a server error", "HTTP 404 is not retried"


def decide_retry(
    outcome: AttemptOutcome,
    attempt: int,
    policy: RetryPolicy,
    *,
    http_status: int | None = None,
    exit_code: int | None = None,
) -> RetryDecision:
    """Whether attempt number `attempt` (1-based), which ended in `outcome`, is retried."""
    if outcome == "succeeded":
        return RetryDecision(False, "succeeded")
    if outcome == "cancelled":
        return RetryDecision(False, "cancelled runs are not retried")
    reason = _retryable(outcome, http_status, exit_code)
    if reason is None:
        return RetryDecision(False, _permanent(outcome, http_status))
    if attempt >= policy.max_attempts:
        return RetryDecision(False, f"{reason}, but all {policy.max_attempts} attempts are used up")
    return RetryDecision(True, reason)


def should_retry(
    outcome: AttemptOutcome,
    attempt: int,
    policy: RetryPolicy,
    *,
    http_status: int | None = None,
    exit_code: int | None = None,
) -> bool:
    """`decide_retry(...).retry`."""
    return decide_retry(
        outcome, attempt, policy, http_status=http_status, exit_code=exit_code
    ).retry


def _retryable(outcome: str, http_status: int | None, exit_code: int | None) -> str | None:
    if outcome == "timed_out":
        return "the attempt timed out"
    if outcome == "connection_error":
        return "the connection failed"
    if outcome == "lost":
        return "the worker running it was lost"
    if http_status is not None:
        if http_status >= 500:
            return f"HTTP {http_status} is a server error"
        if http_status == 429:
            return "HTTP 429 asks to slow down"
        if http_status == 408:
            return "HTTP 408 is a request timeout"
        return None
    if exit_code is not None and exit_code != 0:
        return f"the script exited with code {exit_code}"
    return None


def _permanent(outcome: str, http_status: int | None) -> str:
    if http_status is not None:
        return f"HTTP {http_status} is not retried (only 408, 429 and 5xx are)"
    return f"a {outcome.replace('_', ' ')} attempt without a status or exit code is not retried"
