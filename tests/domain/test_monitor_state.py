"""Monitor state rules, as a table: what a ping does, what a passed deadline does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.errors import ValidationError
from app.domain.monitor_state import (
    Change,
    Expectation,
    MonitorView,
    after_deadline,
    after_ping,
    check_grace,
    check_period,
    ping_kind,
)

T = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
HOURLY = Expectation(period_seconds=3600)


def view(state: str, deadline: datetime | None, max_duration: float | None = None) -> MonitorView:
    return MonitorView(state, HOURLY, 300, max_duration, T + H, deadline)


@pytest.mark.parametrize(
    ("state", "kind", "max_duration", "expected"),
    [
        ("new", "success", None, Change("up", T + H, T + H)),
        ("down", "success", None, Change("up", T + H, T + H)),
        ("late", "success", None, Change("up", T + H, T + H)),
        ("up", "fail", None, Change("down", T + H, None)),
        ("up", "start", 600, Change("running", T + H, T + timedelta(seconds=600))),
        ("up", "start", None, Change("running", T + H, T + H)),
    ],
)
def test_after_ping(state: str, kind: str, max_duration: float | None, expected: Change) -> None:
    assert after_ping(view(state, T + H, max_duration), kind, T) == expected


@pytest.mark.parametrize(
    ("state", "max_duration", "expected"),
    [
        ("up", None, Change("late", T + H, T + H + timedelta(seconds=300))),
        ("late", None, Change("down", T + H, None)),
        ("running", 600, Change("late", T + H, T + H + timedelta(seconds=300), True)),
        ("running", None, Change("late", T + H, T + H + timedelta(seconds=300), False)),
        ("down", None, None),
        ("new", None, None),
    ],
)
def test_after_deadline(state: str, max_duration: float | None, expected: Change | None) -> None:
    assert after_deadline(view(state, T + H, max_duration)) == expected


def test_no_deadline_no_change() -> None:
    assert after_deadline(view("up", None)) is None


@pytest.mark.parametrize(("status", "kind"), [(0, "success"), (1, "fail"), (255, "fail")])
def test_exit_status(status: int, kind: str) -> None:
    assert ping_kind(status, "success") == kind


def test_cron_expectation_follows_dst() -> None:
    berlin = Expectation(cron="30 2 * * *", timezone="Europe/Berlin")
    before = datetime(2026, 3, 28, 1, 31, tzinfo=UTC)
    assert berlin.next_after(before) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    autumn = datetime(2026, 10, 24, 0, 31, tzinfo=UTC)  # after 02:30 CEST on the 24th
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first 02:30
    assert berlin.next_after(autumn) == first
    # The repeated 02:30 (CET, 01:30Z) expects no second ping: next is the 26th, 02:30 CET.
    assert berlin.next_after(first) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("bad", [59, -1, True, "60", float("nan"), 10**9])
def test_period_out_of_range_names_the_field(bad: object) -> None:
    with pytest.raises(ValidationError) as error:
        check_period(bad)
    assert error.value.field == "periodSeconds"


def test_grace_may_be_zero() -> None:
    assert check_grace(0) == 0.0
