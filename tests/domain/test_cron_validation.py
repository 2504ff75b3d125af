"""Cron expressions and time zones: what is accepted, and what the errors say."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from app.domain.errors import ValidationError
from app.domain.schedule import CronSchedule, load_timezone, next_after, parse_cron, validate_cron

NORMALISED = [
    ("*/15 * * * *", "*/15 * * * *"),
    ("  0   9 * * mon-fri ", "0 9 * * MON-FRI"),
    ("0 0 1 jan,jul *", "0 0 1 JAN,JUL *"),
    ("0 0 * * sat-sun", "0 0 * * SAT-SUN"),  # a range may end on SUN
    ("0 0 12 ? * MON", "0 0 12 * * MON"),  # 6 fields, Quartz's "?"
    ("0 0 l * *", "0 0 L * *"),
    ("0 0 lw * *", "0 0 LW * *"),
    ("0 0 15w * *", "0 0 15W * *"),
    ("0 0 * * 5l", "0 0 * * 5L"),
    ("0 0 * * mon#2", "0 0 * * MON#2"),
    ("0 0 * * 7", "0 0 * * 7"),
    ("@Daily", "@daily"),
    ("@annually", "@annually"),
    ("* * * * * *", "* * * * * *"),
]


@pytest.mark.parametrize(("expr", "normalised"), NORMALISED)
def test_valid_expressions_are_normalised(expr: str, normalised: str) -> None:
    assert validate_cron(expr) == normalised


INVALID = [
    # (expression, words the message must contain)
    ("61 * * * *", "minute field: '61' is out of range 0-59"),
    ("* 24 * * *", "hour field: '24' is out of range 0-23"),
    ("* * 0 * *", "day-of-month field: '0' is out of range 1-31"),
    ("* * 32 * *", "day-of-month field: '32' is out of range 1-31"),
    ("* * * 13 *", "month field: '13' is out of range 1-12"),
    ("* * * 0 *", "month field: '0' is out of range 1-12"),
    ("* * * * 8", "day-of-week field: '8' is out of range 0-7"),
    ("60 * * * * *", "second field: '60' is out of range 0-59"),
    (
        "* * *",
        "expected 5 fields (minute hour day-of-month month day-of-week) "
        "or 6 with seconds first, got 3",
    ),
    ("* * * * * * *", "got 7"),
    ("", "cron expression is empty"),
    (
        "@reboot",
        "@reboot is not supported: dts has no notion of a machine boot; "
        "use a schedule such as '@hourly'",
    ),
    ("@fortnightly", "unknown macro '@fortnightly'"),
    ("@daily 5", "@daily takes no fields"),
    ("*/0 * * * *", "minute field: step '0' in '*/0' is out of range 1-60"),
    ("5-1 * * * *", "minute field: range '5-1' goes backwards"),
    ("* * * FOO *", "month field: 'FOO' is not a number 1-12 or a month name (JAN-DEC)"),
    ("* * * * Monday", "day-of-week field: 'Monday' is not a number 0-7 or a day name (SUN-SAT)"),
    ("a * * * *", "minute field: 'a' is not a number 0-59"),
    ("1.5 * * * *", "minute field: '1.5' is not a number 0-59"),
    ("1,,2 * * * *", "minute field has an empty item"),
    ("* * * * 1#6", "day-of-week field: '6' in '1#6' is out of range 1-5"),
    ("* * 30 2 *", "day-of-month field: '30' never happens in FEB; the schedule would never run"),
    ("* * 31 4,6 *", "'31' never happens in APR, JUN"),
    ("* * L/2 * *", "day-of-month field: 'L/2': a step cannot follow L"),
    ("* * 1-5W * *", "'1-5W': 'W' takes a single day"),
    ("5W * * * *", "minute field: '5W': 'W' (nearest weekday) belongs in day-of-month"),
]


@pytest.mark.parametrize(("expr", "message"), INVALID)
def test_invalid_expressions_name_the_field_and_value(expr: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_cron(expr, field="schedule.cron")
    assert err.value.field == "schedule.cron"
    assert message in err.value.message


def test_cron_schedule_validates_on_construction() -> None:
    with pytest.raises(ValidationError) as err:
        CronSchedule("61 * * * *", "UTC")
    assert err.value.field == "cron"
    with pytest.raises(ValidationError) as err:
        CronSchedule("* * * * *", "Mars/Base")
    assert err.value.field == "timezone"


MEANING = [
    # (expression, after (UTC), next occurrence (UTC)) for the syntax a reader may doubt
    ("0 0 * * 7", "2026-01-01T00:00Z", "2026-01-04T00:00Z"),  # 7 is Sunday
    ("0 0 * * 0", "2026-01-01T00:00Z", "2026-01-04T00:00Z"),  # 0 is Sunday
    ("0 0 * * FRI-SUN", "2026-01-03T12:00Z", "2026-01-04T00:00Z"),
    ("0 0 13 * FRI", "2026-01-01T00:00Z", "2026-01-02T00:00Z"),  # Vixie: the 13th OR Friday
    ("0 0 */2 * FRI", "2026-01-01T00:00Z", "2026-01-09T00:00Z"),  # '*' first: odd day AND Friday
    ("0 0 L * *", "2026-02-01T00:00Z", "2026-02-28T00:00Z"),
    ("0 0 L 2 *", "2028-01-01T00:00Z", "2028-02-29T00:00Z"),  # leap year
    ("0 0 LW * *", "2026-05-01T00:00Z", "2026-05-29T00:00Z"),  # May 31 2026 is a Sunday
    ("0 0 15W * *", "2026-02-01T00:00Z", "2026-02-16T00:00Z"),  # Feb 15 2026: Sunday -> Monday
    ("0 0 15W * *", "2026-08-01T00:00Z", "2026-08-14T00:00Z"),  # Aug 15 2026: Saturday -> Friday
    ("0 0 1W * *", "2026-07-31T00:00Z", "2026-08-03T00:00Z"),  # Aug 1 2026: Saturday -> 3rd
    ("0 0 31W * *", "2026-05-01T00:00Z", "2026-05-29T00:00Z"),  # May 31: Sunday -> Friday 29th
    ("0 0 * * 5L", "2026-01-01T00:00Z", "2026-01-30T00:00Z"),  # last Friday
    ("0 0 * * 1#2", "2026-01-01T00:00Z", "2026-01-12T00:00Z"),  # second Monday
    ("0 0 * 2 1#5", "2026-01-01T00:00Z", "2044-02-29T00:00Z"),  # a rare fifth Monday of February
    ("0 0 29 2 *", "2026-01-01T00:00Z", "2028-02-29T00:00Z"),
    ("*/20 * * * * *", "2026-01-01T00:00:05Z", "2026-01-01T00:00:20Z"),
    ("@hourly", "2026-01-01T00:00Z", "2026-01-01T01:00Z"),
    ("@weekly", "2026-01-01T00:00Z", "2026-01-04T00:00Z"),
    ("@monthly", "2026-01-01T00:00Z", "2026-02-01T00:00Z"),
    ("@yearly", "2026-01-01T00:00Z", "2027-01-01T00:00Z"),
    ("0 0 5/10 * *", "2026-01-06T00:00Z", "2026-01-15T00:00Z"),
    ("0 0 * * 1/3", "2026-01-06T00:00Z", "2026-01-08T00:00Z"),  # Mon, Thu, Sun
]


@pytest.mark.parametrize(("expr", "after", "expected"), MEANING)
def test_what_the_syntax_means(expr: str, after: str, expected: str) -> None:
    start = datetime.fromisoformat(after)
    assert next_after(CronSchedule(expr, "UTC"), start) == datetime.fromisoformat(expected)


def test_parse_is_cached_and_iterators_are_independent() -> None:
    assert parse_cron("*/5 * * * *") is parse_cron("*/5 * * * *")
    s = CronSchedule("*/5 * * * *")
    a = next_after(s, datetime(2026, 1, 1, tzinfo=UTC))
    b = next_after(s, datetime(2026, 1, 1, tzinfo=UTC))
    assert a == b == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_no_occurrence_within_fifty_years_is_none() -> None:
    # The fifth Monday of February happens in 2044, then not again until 2072.
    s = CronSchedule("0 0 * 2 1#5")
    assert next_after(s, datetime(2044, 3, 1, tzinfo=UTC)) == datetime(2072, 2, 29, tzinfo=UTC)
    assert next_after(s, datetime(9990, 1, 1, tzinfo=UTC)) is None


ZONES_OK = ["UTC", "Etc/UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "US/Eastern"]


@pytest.mark.parametrize("name", ZONES_OK)
def test_iana_zones_load(name: str) -> None:
    assert load_timezone(name).key == name


ZONES_BAD = [
    ("Mars/Base", "unknown timezone 'Mars/Base'; use an IANA name such as 'Europe/Berlin'"),
    ("", "timezone must not be empty"),
    ("   ", "timezone must not be empty"),
    ("europe/berlin", "unknown timezone 'europe/berlin'; did you mean 'Europe/Berlin'?"),
    ("Europe/Berlin ", "did you mean 'Europe/Berlin'?"),
    ("localtime", "unknown timezone 'localtime'"),  # the host's zone is not a zone name
    ("../../etc/passwd", "unknown timezone '../../etc/passwd'"),
    ("/usr/share/zoneinfo/UTC", "unknown timezone '/usr/share/zoneinfo/UTC'"),
    ("+02:00", "unknown timezone '+02:00'"),
    ("right/UTC", "unknown timezone 'right/UTC'"),  # leap-second variant
    ("posix/Europe/Berlin", "unknown timezone 'posix/Europe/Berlin'"),
]


@pytest.mark.parametrize(("name", "message"), ZONES_BAD)
def test_unknown_zones_are_named(name: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        load_timezone(name, field="schedule.timezone")
    assert err.value.field == "schedule.timezone"
    assert message in err.value.message


def test_the_longest_sensible_expression_is_accepted() -> None:
    every = " ".join(
        ",".join(str(v) for v in values)
        for values in (range(60), range(60), range(24), range(1, 32), range(1, 13), range(7))
    )
    assert len(every) < 1000
    assert parse_cron(every).has_seconds


def test_a_megabyte_of_cron_text_is_refused_before_parsing() -> None:
    huge = ",".join(["1"] * (512 * 1024)) + " * * * *"  # parsing it took 2.4 s
    started = time.perf_counter()
    with pytest.raises(ValidationError) as err:
        parse_cron(huge, field="schedule.cron")
    assert time.perf_counter() - started < 0.5
    assert err.value.field == "schedule.cron"
    assert err.value.message.startswith("cron expression is 1,048,583 characters long")
    assert "at most 1,000" in err.value.message
