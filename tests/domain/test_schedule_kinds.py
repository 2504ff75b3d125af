"""Interval and one-off schedules, building schedules from API fields, and the inspector's view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain.errors import ValidationError
from app.domain.schedule import (
    AtSchedule,
    CronSchedule,
    IntervalSchedule,
    Schedule,
    convert,
    next_after,
    occurrence_to_dict,
    occurrences,
    schedule_from_fields,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TOKYO = "Asia/Tokyo"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


INTERVALS = [
    # (every, anchor, after, next three)
    (60, "2026-01-01T12:00Z", "2026-01-01T11:00Z", ["12:00:00", "12:01:00", "12:02:00"]),  # k=0
    (60, "2026-01-01T12:00Z", "2026-01-01T12:00Z", ["12:01:00", "12:02:00", "12:03:00"]),  # strict
    (60, "2026-01-01T12:00Z", "2026-01-01T12:00:59.9Z", ["12:01:00", "12:02:00", "12:03:00"]),
    (90, "2026-01-01T12:00Z", "2026-01-01T12:10Z", ["12:10:30", "12:12:00", "12:13:30"]),
    (
        1.5,
        "2026-01-01T12:00Z",
        "2026-01-01T12:00:01Z",
        ["12:00:01.500000", "12:00:03", "12:00:04.500000"],
    ),
    (3600, "2026-01-01T12:30+01:00", "2026-01-01T12:00Z", ["12:30:00", "13:30:00", "14:30:00"]),
]


@pytest.mark.parametrize(("every", "anchor", "after", "expected"), INTERVALS)
def test_interval_occurrences(every: float, anchor: str, after: str, expected: list[str]) -> None:
    s = IntervalSchedule(every, at(anchor))
    got = occurrences(s, at(after), 3)
    assert [o.at.time().isoformat() for o in got] == expected
    assert next_after(s, at(after)) == got[0].at


def test_interval_ignores_dst() -> None:
    # Every 24 hours is 24 hours of elapsed time, so the wall-clock time moves by the shift.
    s = IntervalSchedule(86400, at("2026-03-28T02:30+01:00"), "Europe/Berlin")
    got = occurrences(s, at("2026-03-28T00:00Z"), 3)
    assert [o.local.isoformat() for o in got] == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T03:30:00+02:00",
    ]
    assert all(o.note is None and not o.dst_shifted for o in got)


def test_at_schedule_runs_once() -> None:
    s = AtSchedule(at("2026-06-01T09:00+02:00"), "Europe/Berlin")
    assert next_after(s, T0) == at("2026-06-01T07:00Z")
    assert next_after(s, at("2026-06-01T07:00Z")) is None
    got = occurrences(s, T0, 10)
    assert len(got) == 1
    assert got[0].local.isoformat() == "2026-06-01T09:00:00+02:00"


@pytest.mark.parametrize("count", [0, -1, 1001, 100000, True, 2.5])
def test_count_is_bounded(count: int) -> None:
    with pytest.raises(ValidationError) as err:
        occurrences(CronSchedule("* * * * *"), T0, count)
    assert err.value.field == "count"
    assert "count must be a whole number from 1 to 1000" in err.value.message
    assert repr(count) in err.value.message


@pytest.mark.parametrize("count", [1, 1000])
def test_count_limits_are_allowed(count: int) -> None:
    assert len(occurrences(CronSchedule("* * * * * *"), T0, count)) == count


def test_naive_after_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_after(CronSchedule("* * * * *"), datetime(2026, 1, 1))


FROM_FIELDS: list[tuple[dict[str, object], Schedule]] = [
    ({"kind": "cron", "cron": "0  9 * * mon"}, CronSchedule("0 9 * * MON", "UTC")),
    ({"kind": None, "cron": "@daily", "timezone": "Asia/Tokyo"}, CronSchedule("@daily", TOKYO)),
    ({"kind": "interval", "every_seconds": 30, "anchor": T0}, IntervalSchedule(30.0, T0)),
    ({"kind": None, "every_seconds": 30, "anchor": T0}, IntervalSchedule(30.0, T0)),
    ({"kind": "at", "at": T0, "cron": "ignored"}, AtSchedule(T0)),
]


@pytest.mark.parametrize(("fields", "expected"), FROM_FIELDS)
def test_schedule_from_fields(fields: dict[str, object], expected: Schedule) -> None:
    assert schedule_from_fields(**fields) == expected  # type: ignore[arg-type]


CRON, IV, AT = {"kind": "cron"}, {"kind": "interval", "anchor": T0}, {"kind": "at"}
FROM_FIELDS_BAD = [
    ({**CRON, "cron": "61 * * * *"}, "schedule.cron", "'61' is out of range 0-59"),
    (CRON, "schedule.cron", "needs a cron expression"),
    ({**CRON, "cron": "@reboot"}, "schedule.cron", "@reboot is not supported"),
    ({**CRON, "cron": "* * * * *", "timezone": "Mars/Base"}, "schedule.timezone", "'Mars/Base'"),
    (IV, "schedule.everySeconds", "needs everySeconds"),
    ({**IV, "every_seconds": 0.5}, "schedule.everySeconds", "0.5 seconds is out of range 1-"),
    ({**IV, "every_seconds": 400 * 86400}, "schedule.everySeconds", "34560000 seconds"),
    ({**IV, "every_seconds": float("nan")}, "schedule.everySeconds", "nan"),
    ({**IV, "every_seconds": True}, "schedule.everySeconds", "got true"),
    ({"kind": "interval", "every_seconds": 60}, "schedule.anchor", "needs an anchor"),
    ({**IV, "every_seconds": 60, "anchor": datetime(2026, 1, 1)}, "schedule.anchor", "no UTC"),
    (AT, "schedule.at", "needs a time"),
    ({**AT, "at": datetime(2026, 1, 1)}, "schedule.at", "2026-01-01T00:00:00 has no UTC offset"),
    ({"kind": "weekly"}, "schedule.kind", "unknown schedule kind 'weekly'"),
    ({"kind": None}, "schedule.kind", "give exactly one of cron, everySeconds or at"),
    ({"kind": None, "cron": "* * * * *", "at": T0}, "schedule.kind", "exactly one"),
]


@pytest.mark.parametrize(("fields", "field", "message"), FROM_FIELDS_BAD)
def test_schedule_from_fields_names_the_field(
    fields: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as err:
        schedule_from_fields(**fields)  # type: ignore[arg-type]
    assert err.value.field == field
    assert message in err.value.message


def test_convert_shows_an_instant_in_other_zones() -> None:
    got = convert(at("2026-03-29T01:00Z"), ["Asia/Tokyo", "America/New_York", "Asia/Kolkata"])
    assert {k: v.isoformat() for k, v in got.items()} == {
        "Asia/Tokyo": "2026-03-29T10:00:00+09:00",
        "America/New_York": "2026-03-28T21:00:00-04:00",
        "Asia/Kolkata": "2026-03-29T06:30:00+05:30",
    }
    with pytest.raises(ValidationError) as err:
        convert(T0, ["Nowhere/City"])
    assert err.value.field == "zones"


def test_occurrence_to_dict() -> None:
    (o,) = occurrences(CronSchedule("30 2 * * *", "Europe/Berlin"), at("2026-03-28T12:00Z"), 1)
    assert occurrence_to_dict(o, ["America/New_York", "UTC"]) == {
        "utc": "2026-03-29T01:00:00Z",
        "local": "2026-03-29T03:00:00+02:00",
        "timezone": "Europe/Berlin",
        "note": "02:30 does not exist on 2026-03-29 in Europe/Berlin; runs at 03:00 CEST",
        "dstShifted": True,
        "zones": {
            "America/New_York": "2026-03-28T21:00:00-04:00",
            "UTC": "2026-03-29T01:00:00+00:00",
        },
    }


def test_occurrence_to_dict_plain() -> None:
    (o,) = occurrences(CronSchedule("0 9 * * *", "Asia/Tokyo"), T0, 1)
    d = occurrence_to_dict(o)
    assert (d["utc"], d["local"], d["note"], d["dstShifted"], d["zones"]) == (
        "2026-01-02T00:00:00Z",
        "2026-01-02T09:00:00+09:00",
        None,
        False,
        {},
    )


def test_times_in_any_offset_compare_as_instants() -> None:
    s = AtSchedule(datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1))))
    assert next_after(s, T0 - timedelta(seconds=1)) == T0
