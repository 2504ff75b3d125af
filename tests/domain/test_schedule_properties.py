"""Property tests: random valid expressions, zones with DST, instants near the changes.

The oracle is written independently of cronsim: each field is generated together with the
set of values it means, and Debian cron's DST rules are applied by walking the UTC timeline
one minute at a time. Half of the cases start shortly before a DST change, with hour fields
drawn from the hours around it, so that the rules are exercised and not just the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from app.domain.errors import ValidationError
from app.domain.schedule import CronSchedule, iter_occurrences, occurrences

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute shift
    "America/Santiago",  # changes at midnight
    "Asia/Tehran",  # DST until 2022
    "Antarctica/Troll",  # 2-hour shift
    "Pacific/Chatham",  # +12:45 / +13:45
]
BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Field = tuple[str, frozenset[int]]


def field(lo: int, hi: int, top: int | None = None) -> st.SearchStrategy[Field]:
    """A field with values lo..hi and the set it means; `A/S` runs up to `top`."""
    values = st.integers(lo, hi)
    top = hi if top is None else top

    def stepped(start: int, step: int) -> Field:  # day-of-week: 7 is Sunday
        return f"{start}/{step}", frozenset(
            v % 7 if top == 7 else v for v in range(start, top + 1, step)
        )

    return st.one_of(
        st.just(("*", frozenset(range(lo, hi + 1)))),
        values.map(lambda v: (str(v), frozenset({v}))),
        st.tuples(values, values)
        .map(sorted)
        .map(lambda ab: (f"{ab[0]}-{ab[1]}", frozenset(range(ab[0], ab[1] + 1)))),
        st.integers(1, hi - lo).map(lambda s: (f"*/{s}", frozenset(range(lo, hi + 1, s)))),
        st.builds(stepped, values, st.integers(1, hi - lo)),
        st.lists(values, min_size=2, max_size=4, unique=True).map(
            lambda vs: (",".join(map(str, vs)), frozenset(vs))
        ),
    )


def mostly_star(f: st.SearchStrategy[Field], star: Field) -> st.SearchStrategy[Field]:
    return st.sampled_from([True, True, False]).flatmap(lambda s: st.just(star) if s else f)


@cache
def transitions(zone_name: str) -> list[datetime]:
    """UTC instants where the zone's offset changes, 2021-2027 (all on whole minutes)."""
    zone = ZoneInfo(zone_name)
    out = []
    t, end, step = (
        datetime(2021, 1, 1, tzinfo=UTC),
        datetime(2028, 1, 1, tzinfo=UTC),
        timedelta(hours=1),
    )
    while t < end:
        if t.astimezone(zone).utcoffset() != (t + step).astimezone(zone).utcoffset():
            lo, hi = t, t + step
            while hi - lo > timedelta(minutes=1):
                mid = (lo + (hi - lo) / 2).replace(second=0, microsecond=0)
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        t += step
    return out


@dataclass(frozen=True)
class Case:
    expr: str
    zone: str
    after: datetime
    fields: tuple[Field, ...]  # second, minute, hour, day-of-month, month, day-of-week

    def matches(self, wall: datetime) -> bool:
        (_, sec), (_, mins), (_, hours), (dom_text, days), (_, months), (dow_text, wdays) = (
            self.fields
        )
        dom, dow = wall.day in days, wall.isoweekday() % 7 in wdays
        either = not (dom_text.startswith("*") or dow_text.startswith("*"))  # Vixie rule
        return (
            wall.second in sec
            and wall.minute in mins
            and wall.hour in hours
            and wall.month in months
            and ((dom or dow) if either else (dom and dow))
        )


@st.composite
def cases(draw: st.DrawFn, seconds: bool = False) -> Case:
    zone = draw(st.sampled_from(ZONES))
    near = transitions(zone)
    hour = field(0, 23)
    near_a_change = draw(st.booleans())
    if near and near_a_change:
        change = draw(st.sampled_from(near))
        after = change - timedelta(seconds=draw(st.integers(0, 30 * 3600)))
        # the hour before the change, and the hours it skips or repeats
        before = (change - timedelta(minutes=1)).astimezone(ZoneInfo(zone)).hour
        local_hours = sorted({(before + k) % 24 for k in range(-1, 3)})
        hour = st.one_of(
            hour,
            st.sampled_from(local_hours).map(lambda h: (str(h), frozenset({h}))),
            st.just((",".join(map(str, local_hours)), frozenset(local_hours))),
        )
    else:
        after = datetime(2021, 1, 1, tzinfo=UTC) + timedelta(
            seconds=draw(st.integers(0, 7 * 365 * 86400))
        )
    fields = (
        draw(field(0, 59)) if seconds else ("0", frozenset({0})),
        draw(field(0, 59)),
        draw(hour),
        draw(mostly_star(field(1, 31), ("*", frozenset(range(1, 32))))),
        draw(mostly_star(field(1, 12), ("*", frozenset(range(1, 13))))),
        draw(mostly_star(field(0, 6, top=7), ("*", frozenset(range(7))))),
    )
    expr = " ".join(text for text, _ in (fields if seconds else fields[1:]))
    return Case(expr, zone, after, fields)


def schedule(case: Case) -> CronSchedule:
    try:
        return CronSchedule(case.expr, case.zone)
    except ValidationError:  # e.g. day 31 in February only: it would never run
        assume(False)
        raise


def check_order_and_wall_clock(case: Case) -> None:
    got = occurrences(schedule(case), case.after, 25)
    instants = [o.at for o in got]
    assert all(a > case.after for a in instants)
    assert instants == sorted(set(instants))  # strictly increasing, no repeats
    for o in got:
        # (an aware datetime with fold=1 never equals one in another zone: compare in UTC)
        assert o.at.tzinfo is UTC and o.local.astimezone(UTC) == o.at
        if o.dst_shifted:
            assert o.note and "not exist" in o.note
        else:
            assert case.matches(o.local.replace(tzinfo=None)), o


@BOUNDED
@given(cases())
def test_occurrences_increase_and_match_the_wall_clock(case: Case) -> None:
    check_order_and_wall_clock(case)


@BOUNDED
@given(cases(seconds=True))
def test_six_fields_increase_and_match_the_wall_clock(case: Case) -> None:
    check_order_and_wall_clock(case)


def debian_cron(case: Case, end: datetime) -> list[tuple[datetime, bool]]:
    """(instant, moved) in (after, end], walking UTC minute by minute (5 fields only)."""
    zone = ZoneInfo(case.zone)
    minute, hour = case.expr.split()[:2]
    fixed = not (minute.startswith("*") or hour.startswith("*"))
    out: dict[datetime, bool] = {}
    t = case.after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    prev = (t - timedelta(minutes=1)).astimezone(zone)
    while t <= end:
        local = t.astimezone(zone)
        wall = local.replace(tzinfo=None, fold=0)
        if fixed and local.utcoffset() > prev.utcoffset():  # type: ignore[operator]
            # a gap ends at t: rule 1, the gap's scheduled times run once, now
            w = prev.replace(tzinfo=None) + timedelta(minutes=1)
            while w < wall:
                if case.matches(w):
                    out[t] = True
                    break
                w += timedelta(minutes=1)
        if case.matches(wall) and t not in out:
            twice = (
                wall.replace(tzinfo=zone).utcoffset()
                != wall.replace(tzinfo=zone, fold=1).utcoffset()
            )
            if not (fixed and twice and local.fold == 1):  # rule 2: the first pass only
                out[t] = False
        prev = local
        t += timedelta(minutes=1)
    return sorted(out.items())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_same_as_minute_by_minute_debian_cron(case: Case) -> None:
    end = case.after + timedelta(hours=36)
    ours = []
    for o in iter_occurrences(schedule(case), case.after):
        if o.at > end:
            break
        ours.append((o.at, o.dst_shifted))
        if o.note:
            event("moved" if o.dst_shifted else o.note.split("; ")[1].split(",")[0])
    assert ours == debian_cron(case, end)
