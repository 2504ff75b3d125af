"""Heartbeat monitor states: what a ping does, and what the clock does when no ping comes.

States: `new` (no ping yet: nothing is expected), `up` (the last run succeeded; the next
ping is expected at `next_expected`), `late` (the expected time passed; within grace),
`down` (grace passed without a ping, or the job reported failure), `running` (a `/start`
came; success is expected within the max duration, if one is set).

Deadlines: `up` becomes `late` at the expected time and `down` at expected + grace.
`running` with a max duration becomes `late` (flagged "ran too long") at start + max
duration, then `down` after grace. A success ping from any state makes it `up` again.
Cron expectations use the job engine (`app/domain/schedule.py`), so DST is handled as for
jobs: a `30 2 * * *` monitor in Europe/Berlin expects its spring-forward-night ping at
03:00 CEST, not at a 02:30 that never happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.errors import ValidationError, shown
from app.domain.schedule import CronSchedule, next_after

STATES = ("new", "up", "late", "down", "running")
PING_KINDS = ("success", "start", "fail")

MIN_PERIOD_SECONDS = 60.0
MAX_PERIOD_SECONDS = 366 * 24 * 3600.0
MAX_GRACE_SECONDS = 366 * 24 * 3600.0


@dataclass(frozen=True)
class Expectation:
    """When pings are expected: a cron expression in a zone, or every `period_seconds`."""

    cron: str | None = None
    timezone: str = "UTC"
    period_seconds: float | None = None

    def next_after(self, at: datetime) -> datetime | None:
        if self.cron is not None:
            return next_after(CronSchedule(self.cron, self.timezone), at)
        if self.period_seconds is None:
            raise ValidationError("give a cron expression or a period", field="schedule")
        return at + timedelta(seconds=self.period_seconds)


@dataclass(frozen=True)
class MonitorView:
    """What the rules read of a monitor."""

    state: str
    expectation: Expectation
    grace_seconds: float
    max_duration_seconds: float | None
    next_expected_at: datetime | None
    deadline_at: datetime | None


@dataclass(frozen=True)
class Change:
    """The monitor after a ping or a deadline: the new state and what the tick waits for."""

    state: str
    next_expected_at: datetime | None
    deadline_at: datetime | None
    ran_too_long: bool = False


def ping_kind(exit_status: int | None, kind: str) -> str:
    """`/ping/<uuid>/<exit status>`: 0 is success, anything else (1-255) failure."""
    if exit_status is None:
        return kind
    return "success" if exit_status == 0 else "fail"


def after_ping(monitor: MonitorView, kind: str, at: datetime) -> Change:
    """The monitor after a ping of `kind` (success | start | fail) received at `at`."""
    expected = monitor.expectation.next_after(at)
    if kind == "success":
        return Change("up", expected, expected)
    if kind == "fail":
        return Change("down", expected, None)
    if kind == "start":
        # The run's end is expected within max duration; without one the run is judged
        # by the schedule as if it had succeeded (a missing next ping still shows).
        keep = monitor.next_expected_at or expected
        if monitor.max_duration_seconds is not None:
            return Change("running", keep, at + timedelta(seconds=monitor.max_duration_seconds))
        return Change("running", keep, keep)
    raise ValueError(f"unknown ping kind {kind!r}")


def after_deadline(monitor: MonitorView) -> Change | None:
    """The monitor once its deadline passed without a ping; None when nothing changes."""
    deadline = monitor.deadline_at
    if deadline is None:
        return None
    grace = timedelta(seconds=monitor.grace_seconds)
    if monitor.state == "up":
        return Change("late", monitor.next_expected_at, deadline + grace)
    if monitor.state == "running":
        too_long = monitor.max_duration_seconds is not None
        return Change("late", monitor.next_expected_at, deadline + grace, ran_too_long=too_long)
    if monitor.state == "late":
        return Change("down", monitor.next_expected_at, None)
    return None


def check_period(value: object, field: str = "periodSeconds") -> float:
    return _seconds(value, field, MIN_PERIOD_SECONDS, MAX_PERIOD_SECONDS, "60 seconds to 366 days")


def check_grace(value: object, field: str = "graceSeconds") -> float:
    return _seconds(value, field, 0.0, MAX_GRACE_SECONDS, "0 seconds to 366 days")


def check_max_duration(value: object, field: str = "maxDurationSeconds") -> float:
    return _seconds(value, field, 1.0, MAX_PERIOD_SECONDS, "1 second to 366 days")


def _seconds(value: object, field: str, low: float, high: float, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError(f"must be a number of seconds, got {shown(value)}", field=field)
    if not low <= value <= high:
        raise ValidationError(f"{value:g} seconds is out of range: {allowed}", field=field)
    return float(value)
