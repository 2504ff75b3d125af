"""DST vectors: each expected instant was worked out by hand from the zone's rules (tzdata).

A row is (expression, zone, after, expected), and each expected occurrence is
(UTC instant, local wall time and zone abbreviation, mark): mark "moved" means DST moved the
run off its scheduled time (rule 1), "twice" that the time happens twice that day (rules 2,
3), "skipped" that wall-clock times before it were skipped (rule 4), "" no note.

Transitions used (UTC instant: local change):
  Europe/Berlin        2026-03-29 01:00Z: 02:00 CET -> 03:00 CEST
                       2026-10-25 01:00Z: 03:00 CEST -> 02:00 CET (02:00-02:59 twice)
  America/New_York     2026-03-08 07:00Z: 02:00 EST -> 03:00 EDT
                       2026-11-01 06:00Z: 02:00 EDT -> 01:00 EST (01:00-01:59 twice)
  Australia/Lord_Howe  2026-10-03 15:30Z: 02:00 +1030 -> 02:30 +11 (30-minute shift)
                       2026-04-04 15:00Z: 02:00 +11 -> 01:30 +1030 (01:30-01:59 twice)
  America/Santiago     2026-09-06 04:00Z: 00:00 -04 -> 01:00 -03 (midnight skipped)
                       2026-04-05 03:00Z: 00:00 -03 -> 23:00 -04 on 04-04 (23:00-23:59 twice)
  Asia/Tehran          2022-03-21 20:30Z: 00:00 +0330 -> 01:00 +0430 on 03-22
                       2022-09-21 19:30Z: 00:00 +0430 -> 23:00 +0330 on 09-21
                       (Iran abolished DST after 2022: 2023 has no transition)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cronsim import CronSim

from app.domain.schedule import CronSchedule, next_after, occurrences

BER, NYC, LHI = "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"
SCL, THR = "America/Santiago", "Asia/Tehran"

VECTORS = [
    # --- Europe/Berlin, spring forward -------------------------------------------------
    (
        "30 2 * * *",
        BER,
        "2026-03-28T12:00Z",
        [
            ("2026-03-29T01:00:00Z", "03:00 CEST", "moved"),  # 02:30 does not exist
            ("2026-03-30T00:30:00Z", "02:30 CEST", ""),
        ],
    ),
    (
        "0 30 2 * * *",
        BER,
        "2026-03-28T12:00Z",
        [  # 6 fields: same rule
            ("2026-03-29T01:00:00Z", "03:00 CEST", "moved"),
            ("2026-03-30T00:30:00Z", "02:30 CEST", ""),
        ],
    ),
    (
        "0 3 * * *",
        BER,
        "2026-03-28T12:00Z",
        [  # 03:00 exists: untouched
            ("2026-03-29T01:00:00Z", "03:00 CEST", ""),
            ("2026-03-30T01:00:00Z", "03:00 CEST", ""),
        ],
    ),
    (
        "*/30 * * * *",
        BER,
        "2026-03-29T00:15Z",
        [  # wall clock: 02:00, 02:30 skipped
            ("2026-03-29T00:30:00Z", "01:30 CET", ""),
            ("2026-03-29T01:00:00Z", "03:00 CEST", "skipped"),
            ("2026-03-29T01:30:00Z", "03:30 CEST", ""),
        ],
    ),
    # --- Europe/Berlin, fall back ----------------------------------------------------------
    (
        "30 2 * * *",
        BER,
        "2026-10-24T12:00Z",
        [
            ("2026-10-25T00:30:00Z", "02:30 CEST", "twice"),  # once, first pass
            ("2026-10-26T01:30:00Z", "02:30 CET", ""),
        ],
    ),
    (
        "0 30 2 * * *",
        BER,
        "2026-10-24T12:00Z",
        [
            ("2026-10-25T00:30:00Z", "02:30 CEST", "twice"),
            ("2026-10-26T01:30:00Z", "02:30 CET", ""),
        ],
    ),
    (
        "*/30 * * * *",
        BER,
        "2026-10-25T00:15Z",
        [  # wall clock: both passes
            ("2026-10-25T00:30:00Z", "02:30 CEST", "twice"),
            ("2026-10-25T01:00:00Z", "02:00 CET", "twice"),
            ("2026-10-25T01:30:00Z", "02:30 CET", "twice"),
            ("2026-10-25T02:00:00Z", "03:00 CET", ""),
        ],
    ),
    # --- America/New_York ---------------------------------------------------------------
    (
        "30 2 * * *",
        NYC,
        "2026-03-07T12:00Z",
        [
            ("2026-03-08T07:00:00Z", "03:00 EDT", "moved"),
            ("2026-03-09T06:30:00Z", "02:30 EDT", ""),
        ],
    ),
    (
        "0 2 * * *",
        NYC,
        "2026-03-07T12:00Z",
        [
            ("2026-03-08T07:00:00Z", "03:00 EDT", "moved"),
            ("2026-03-09T06:00:00Z", "02:00 EDT", ""),
        ],
    ),
    (
        "15 * * * *",
        NYC,
        "2026-03-08T06:00Z",
        [
            ("2026-03-08T06:15:00Z", "01:15 EST", ""),
            ("2026-03-08T07:15:00Z", "03:15 EDT", "skipped"),  # 02:15 skipped
            ("2026-03-08T08:15:00Z", "04:15 EDT", ""),
        ],
    ),
    (
        "30 1 * * *",
        NYC,
        "2026-10-31T12:00Z",
        [
            ("2026-11-01T05:30:00Z", "01:30 EDT", "twice"),
            ("2026-11-02T06:30:00Z", "01:30 EST", ""),
        ],
    ),
    (
        "*/30 * * * *",
        NYC,
        "2026-11-01T04:45Z",
        [
            ("2026-11-01T05:00:00Z", "01:00 EDT", "twice"),
            ("2026-11-01T05:30:00Z", "01:30 EDT", "twice"),
            ("2026-11-01T06:00:00Z", "01:00 EST", "twice"),
            ("2026-11-01T06:30:00Z", "01:30 EST", "twice"),
            ("2026-11-01T07:00:00Z", "02:00 EST", ""),
        ],
    ),
    (
        "*/30 1 * * *",
        NYC,
        "2026-11-01T05:40Z",
        [  # after = 01:40 EDT, first pass
            ("2026-11-01T06:00:00Z", "01:00 EST", "twice"),
            ("2026-11-01T06:30:00Z", "01:30 EST", "twice"),
            ("2026-11-02T06:00:00Z", "01:00 EST", ""),
        ],
    ),
    (
        "*/30 1 * * *",
        NYC,
        "2026-11-01T06:10Z",
        [  # after = 01:10 EST, second pass
            ("2026-11-01T06:30:00Z", "01:30 EST", "twice"),
            ("2026-11-02T06:00:00Z", "01:00 EST", ""),
        ],
    ),
    (
        "30 1 * * *",
        NYC,
        "2026-11-01T06:10Z",
        [  # ran at 01:30 EDT already
            ("2026-11-02T06:30:00Z", "01:30 EST", ""),
        ],
    ),
    # --- Australia/Lord_Howe: 30-minute shift --------------------------------------------
    (
        "15 2 * * *",
        LHI,
        "2026-10-03T00:00Z",
        [
            ("2026-10-03T15:30:00Z", "02:30 +11", "moved"),
            ("2026-10-04T15:15:00Z", "02:15 +11", ""),
        ],
    ),
    (
        "0,30 2 * * *",
        LHI,
        "2026-10-03T00:00Z",
        [  # 02:00 moved onto 02:30: one run
            ("2026-10-03T15:30:00Z", "02:30 +11", "moved"),
            ("2026-10-04T15:00:00Z", "02:00 +11", ""),
            ("2026-10-04T15:30:00Z", "02:30 +11", ""),
        ],
    ),
    (
        "30 * * * *",
        LHI,
        "2026-10-03T14:15Z",
        [  # 02:30 exists after the gap
            ("2026-10-03T15:00:00Z", "01:30 +1030", ""),
            ("2026-10-03T15:30:00Z", "02:30 +11", ""),
            ("2026-10-03T16:30:00Z", "03:30 +11", ""),
        ],
    ),
    (
        "45 1 * * *",
        LHI,
        "2026-04-04T00:00Z",
        [
            ("2026-04-04T14:45:00Z", "01:45 +11", "twice"),
            ("2026-04-05T15:15:00Z", "01:45 +1030", ""),
        ],
    ),
    (
        "30 * * * *",
        LHI,
        "2026-04-04T13:45Z",
        [
            ("2026-04-04T14:30:00Z", "01:30 +11", "twice"),
            ("2026-04-04T15:00:00Z", "01:30 +1030", "twice"),
            ("2026-04-04T16:00:00Z", "02:30 +1030", ""),
        ],
    ),
    # --- America/Santiago: the change is at midnight -------------------------------------
    (
        "0 0 * * *",
        SCL,
        "2026-09-05T12:00Z",
        [
            ("2026-09-06T04:00:00Z", "01:00 -03", "moved"),
            ("2026-09-07T03:00:00Z", "00:00 -03", ""),
        ],
    ),
    (
        "0 0 * * SUN",
        SCL,
        "2026-09-05T12:00Z",
        [  # 2026-09-06 is a Sunday
            ("2026-09-06T04:00:00Z", "01:00 -03", "moved"),
            ("2026-09-13T03:00:00Z", "00:00 -03", ""),
        ],
    ),
    (
        "*/30 * * * *",
        SCL,
        "2026-09-06T03:15Z",
        [
            ("2026-09-06T03:30:00Z", "23:30 -04", ""),
            ("2026-09-06T04:00:00Z", "01:00 -03", "skipped"),
            ("2026-09-06T04:30:00Z", "01:30 -03", ""),
        ],
    ),
    (
        "30 23 * * *",
        SCL,
        "2026-04-04T12:00Z",
        [
            ("2026-04-05T02:30:00Z", "23:30 -03", "twice"),
            ("2026-04-06T03:30:00Z", "23:30 -04", ""),
        ],
    ),
    # --- Asia/Tehran: historic DST --------------------------------------------------------
    (
        "30 0 * * *",
        THR,
        "2022-03-21T12:00Z",
        [
            ("2022-03-21T20:30:00Z", "01:00 +0430", "moved"),
            ("2022-03-22T20:00:00Z", "00:30 +0430", ""),
        ],
    ),
    (
        "30 23 * * *",
        THR,
        "2022-09-21T12:00Z",
        [
            ("2022-09-21T19:00:00Z", "23:30 +0430", "twice"),
            ("2022-09-22T20:00:00Z", "23:30 +0330", ""),
        ],
    ),
    (
        "0 * * * *",
        THR,
        "2022-09-21T18:15Z",
        [
            ("2022-09-21T18:30:00Z", "23:00 +0430", "twice"),
            ("2022-09-21T19:30:00Z", "23:00 +0330", "twice"),
            ("2022-09-21T20:30:00Z", "00:00 +0330", ""),
        ],
    ),
    (
        "30 0 * * *",
        THR,
        "2023-03-21T12:00Z",
        [  # no DST any more
            ("2023-03-21T21:00:00Z", "00:30 +0330", ""),
            ("2023-03-22T21:00:00Z", "00:30 +0330", ""),
        ],
    ),
]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(("expr", "zone", "after", "expected"), VECTORS)
def test_dst_vectors(
    expr: str, zone: str, after: str, expected: list[tuple[str, str, str]]
) -> None:
    got = occurrences(CronSchedule(expr, zone), _utc(after), len(expected))
    rows = []
    for o in got:
        mark = "moved" if o.dst_shifted else ""
        if o.note and not o.dst_shifted:
            mark = "twice" if "happens twice" in o.note else "skipped"
        rows.append(
            (o.at.strftime("%Y-%m-%dT%H:%M:%SZ"), f"{o.local:%H:%M} {o.local.tzname()}", mark)
        )
    assert rows == expected


NOTES = [
    (
        "30 2 * * *",
        BER,
        "2026-03-28T12:00Z",
        "02:30 does not exist on 2026-03-29 in Europe/Berlin; runs at 03:00 CEST",
    ),
    (
        "30 1 * * *",
        NYC,
        "2026-10-31T12:00Z",
        "01:30 happens twice on 2026-11-01 in America/New_York; runs once, at the first 01:30 EDT",
    ),
    ("30 1 * * *", SCL, "2026-04-04T12:00Z", None),
    (
        "*/30 1 * * *",
        NYC,
        "2026-11-01T05:10Z",
        "01:30 happens twice on 2026-11-01 in America/New_York; "
        "this schedule runs at both, 01:30 EDT and 01:30 EST",
    ),
    (
        "*/30 * * * *",
        BER,
        "2026-03-29T00:45Z",
        "2 scheduled times from 02:00 to 02:30 do not exist on 2026-03-29 in Europe/Berlin; "
        "skipped, as this schedule follows the wall clock",
    ),
    (
        "0,30 2 * * *",
        LHI,
        "2026-10-03T00:00Z",
        "02:00 does not exist on 2026-10-04 in Australia/Lord_Howe; runs at 02:30 +11",
    ),
    (
        "0,20,40 2 * * *",
        BER,
        "2026-03-28T12:00Z",
        "3 scheduled times from 02:00 to 02:40 do not exist on 2026-03-29 in Europe/Berlin; "
        "they run once, at 03:00 CEST",
    ),
    (
        "15 30 2 * * *",
        BER,
        "2026-03-28T12:00Z",
        "02:30:15 does not exist on 2026-03-29 in Europe/Berlin; runs at 03:00 CEST",
    ),
]


@pytest.mark.parametrize(("expr", "zone", "after", "note"), NOTES)
def test_notes(expr: str, zone: str, after: str, note: str | None) -> None:
    assert occurrences(CronSchedule(expr, zone), _utc(after), 1)[0].note == note


def test_next_after_is_strict() -> None:
    s = CronSchedule("30 2 * * *", BER)
    moved = _utc("2026-03-29T01:00Z")  # 02:30 moved to 03:00 CEST
    assert next_after(s, _utc("2026-03-29T00:59:59Z")) == moved
    assert next_after(s, moved) == _utc("2026-03-30T00:30Z")
    assert next_after(s, _utc("2026-03-29T00:59:59.999999Z")) == moved


def test_next_after_accepts_any_offset_and_returns_utc() -> None:
    s = CronSchedule("0 9 * * *", "Asia/Tokyo")
    after = datetime.fromisoformat("2026-06-01T09:00:00+09:00")
    got = next_after(s, after)
    assert got == _utc("2026-06-02T00:00Z")
    assert got is not None and got.tzinfo is UTC


# Where the zone shifts by a whole hour, our rules and cronsim's own aware-datetime mode
# (Debian cron's rules) must give the same instants for 5-field expressions.
AGREES_WITH_CRONSIM = [
    (expr, zone, after)
    for expr in (
        "30 2 * * *",
        "30 1 * * *",
        "0 0 * * *",
        "30 23 * * *",
        "*/20 * * * *",
        "15 * * * *",
        "*/30 1 * * *",
        "0 */2 * * *",
        "0,30 2 * * *",
        "5 0-3 * * *",
    )
    for zone, after in (
        (BER, "2026-03-28T12:00Z"),
        (BER, "2026-10-24T12:00Z"),
        (NYC, "2026-03-07T12:00Z"),
        (NYC, "2026-10-31T12:00Z"),
        (SCL, "2026-09-05T00:00Z"),
        (SCL, "2026-04-04T00:00Z"),
        (THR, "2022-03-21T00:00Z"),
        (THR, "2022-09-21T00:00Z"),
    )
]


@pytest.mark.parametrize(("expr", "zone", "after"), AGREES_WITH_CRONSIM)
def test_agrees_with_cronsim_on_whole_hour_shifts(expr: str, zone: str, after: str) -> None:
    from zoneinfo import ZoneInfo

    start = _utc(after)
    ours = [o.at for o in occurrences(CronSchedule(expr, zone), start, 60)]
    it = CronSim(expr, start.astimezone(ZoneInfo(zone)))
    theirs = [next(it).astimezone(UTC) for _ in range(60)]
    assert ours == theirs
