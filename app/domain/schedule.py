"""Schedules: validate cron expressions and time zones, and compute occurrences across DST.

A job runs on one of three schedule kinds:

- `CronSchedule(expr, timezone)`: a cron expression read on the wall clock of an IANA zone.
- `IntervalSchedule(every_seconds, anchor)`: at `anchor + k * every_seconds`, k >= 0.
- `AtSchedule(at)`: once.

`next_after(schedule, after)` is the first occurrence strictly after `after` (any aware
datetime; a naive one is a programming error, ValueError), in UTC, or None when there is none
(an `at` in the past; a cron expression with no match within cronsim's 50-year horizon).
`occurrences(schedule, after, count)` and the lazy `iter_occurrences` give `Occurrence`s with
the local time and DST notes that the inspector shows. Interval and one-off schedules also
carry a `timezone`, used only to show local times; elapsed time knows no DST.

Cron syntax
-----------
5 fields (minute hour day-of-month month day-of-week), or 6 with a leading seconds field
(as cronsim and Quartz). Each field is a comma-separated list of `*`, `N`, `A-B`, `*/S`,
`A/S` or `A-B/S`; months and weekdays also take names (JAN-DEC, SUN-SAT, any case); Sunday
is 0 or 7, and a range may end on SUN (`FRI-SUN`). Day-of-month also takes `L` (last day),
`LW` (last weekday) and `NW` (the weekday nearest day N, within the month); day-of-week
takes `NL` (last N-day of the month) and `N#K` (K-th N-day, K 1-5). `?` in the day fields
means `*` (Quartz). Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly.
When both day fields are restricted (neither starts with `*`), a day matches if either
matches (Vixie cron); otherwise both must.

DST rules (Debian cron, as cronsim documents them)
--------------------------------------------------
A schedule is *fixed-time* when neither its minute nor its hour field starts with `*`
(`30 2 * * *`, `0 9-17 * * *`, `@daily`); otherwise it is *wall-clock* (`*/15 * * * *`,
`0 */2 * * *`, `@hourly`). 6-field expressions follow the same rule.

1. Fixed-time, scheduled time inside a skipped interval (spring forward): it runs once, at
   the first instant after the gap. All scheduled times of one gap make one run.
   `dst_shifted=True`, note: "02:30 does not exist on 2026-03-29 in Europe/Berlin; runs
   at 03:00 CEST". If the gap's end is itself a scheduled time, that is the same run.
2. Fixed-time, scheduled time inside a repeated interval (fall back): it runs once, in the
   first pass. Note: "01:30 happens twice on 2026-11-01 in America/New_York; runs once,
   at the first 01:30 EDT".
3. Wall-clock, scheduled time inside a repeated interval: it runs in both passes; both
   runs carry the note "... happens twice ...; this schedule runs at both, 01:30 EDT and
   01:30 EST".
4. Wall-clock, scheduled times inside a skipped interval: they do not run. The next
   occurrence carries the note "02:00 does not exist on ...; skipped, as this schedule
   follows the wall clock".

No other occurrence has a note, so an occurrence without `dst_shifted` always matches the
expression on the zone's wall clock.

Where this differs from cronsim's own aware-datetime mode, and why we iterate cronsim on
naive wall time and apply the rules above ourselves: cronsim applies no DST rule to
6-field expressions (a fixed 6-field time is skipped in spring and runs twice in autumn),
and with a 30-minute shift (Australia/Lord_Howe) its wall-clock mode misses
`30 * * * *` at 02:30 after the gap and in the second pass of the repeated half hour.
"""

from __future__ import annotations

import calendar
import heapq
import math
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal

from cronsim import CronSim, CronSimError

from app.domain.errors import ValidationError, shown
from app.domain.instants import utc_iso

__all__ = [
    "MAX_COUNT",
    "MAX_CRON_LENGTH",
    "MAX_INTERVAL_SECONDS",
    "MIN_INTERVAL_SECONDS",
    "AtSchedule",
    "CronField",
    "CronSchedule",
    "CronTerm",
    "IntervalSchedule",
    "Occurrence",
    "ParsedCron",
    "Schedule",
    "convert",
    "iter_occurrences",
    "load_timezone",
    "next_after",
    "occurrence_to_dict",
    "occurrences",
    "parse_cron",
    "schedule_from_fields",
    "validate_cron",
]

MAX_COUNT = 1000
# The longest sensible expression lists every value of all six fields (~450 characters);
# parsing costs time per item, so a megabyte of "1,1,1,…" must be refused before parsing.
MAX_CRON_LENGTH = 1000
MIN_INTERVAL_SECONDS = 1.0
MAX_INTERVAL_SECONDS = 366 * 86400.0

_ZONE_EXAMPLE = "use an IANA name such as 'Europe/Berlin' or 'UTC'"
# Found by zoneinfo on some hosts but not zones (or the host's own); "posix/" and "right/"
# (leap-second) variants are not in available_timezones() either, so they are refused too.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


# --- time zones ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """IANA name -> itself, and lower-cased name -> IANA name (to suggest the spelling)."""
    names = set(zoneinfo.available_timezones()) - _NOT_ZONES
    return {n.lower(): n for n in names} | {n: n for n in names}


def load_timezone(name: str, field: str = "timezone") -> zoneinfo.ZoneInfo:
    """The IANA zone called `name`; anything else is a ValidationError on `field`."""
    if not isinstance(name, str):
        raise ValidationError(
            f"expected a zone name, got {shown(name)}; {_ZONE_EXAMPLE}", field=field
        )
    if not name.strip():
        raise ValidationError(f"timezone must not be empty; {_ZONE_EXAMPLE}", field=field)
    known = _zone_names().get(name)
    if known == name:
        return zoneinfo.ZoneInfo(name)  # cached by zoneinfo itself
    suggestion = known or _zone_names().get(name.strip().lower())
    if suggestion is not None:
        raise ValidationError(
            f"unknown timezone {name!r}; did you mean {suggestion!r}?", field=field
        )
    raise ValidationError(f"unknown timezone {name!r}; {_ZONE_EXAMPLE}", field=field)


# --- cron parsing ---------------------------------------------------------------------------

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS_HINT = "minute hour day-of-month month day-of-week"
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

FieldName = Literal["second", "minute", "hour", "day-of-month", "month", "day-of-week"]
TermKind = Literal["range", "last", "last_weekday", "nearest_weekday", "last_dow", "nth_dow"]


@dataclass(frozen=True)
class _FieldSpec:
    name: FieldName
    lo: int
    hi: int
    names: tuple[str, ...] = ()  # names[i] means value i + names_base
    names_base: int = 0

    @property
    def range_text(self) -> str:
        extra = " (0 and 7 are Sunday)" if self.name == "day-of-week" else ""
        return f"{self.lo}-{self.hi}{extra}"


_SPECS = (
    _FieldSpec("second", 0, 59),
    _FieldSpec("minute", 0, 59),
    _FieldSpec("hour", 0, 23),
    _FieldSpec("day-of-month", 1, 31),
    _FieldSpec("month", 1, 12, MONTH_NAMES, 1),
    _FieldSpec("day-of-week", 0, 7, DAY_NAMES, 0),
)


@dataclass(frozen=True)
class CronTerm:
    """One comma-separated item of a field.

    kind "range" covers `*`, `N`, `A-B` and their `/S` forms (start..end step S, `star`
    when written with `*`); the others are the day specials: `L`, `LW`, `NW` (start=N),
    `NL` (start=N) and `N#K` (start=N, nth=K).
    """

    kind: TermKind
    start: int = 0
    end: int = 0
    step: int = 1
    star: bool = False
    nth: int = 0

    def values(self) -> range:
        return range(self.start, self.end + 1, self.step)

    def cronsim_text(self) -> str:
        if self.kind == "last":
            return "L"
        if self.kind == "last_weekday":
            return "LW"
        if self.kind == "last_dow":
            return f"{self.start}L"
        if self.kind == "nth_dow":
            return f"{self.start}#{self.nth}"
        if self.kind == "nearest_weekday":
            raise AssertionError("nearest-weekday terms are matched by _NearestWeekdayCronSim")
        if self.star:
            return "*" if self.step == 1 else f"*/{self.step}"
        text = str(self.start) if self.start == self.end else f"{self.start}-{self.end}"
        return text if self.step == 1 else f"{text}/{self.step}"


@dataclass(frozen=True)
class CronField:
    name: FieldName
    text: str  # as written (normalised case)
    terms: tuple[CronTerm, ...]

    @property
    def star(self) -> bool:
        """Starts with `*`: what Vixie cron's day-of-month/day-of-week rule looks at."""
        return self.text.startswith("*")

    @property
    def values(self) -> frozenset[int]:
        """Plain values (from `*`, numbers, ranges, steps); day-of-week 7 is folded into 0."""
        out = {v for t in self.terms if t.kind == "range" for v in t.values()}
        if self.name == "day-of-week" and 7 in out:
            out.discard(7)
            out.add(0)
        return frozenset(out)


@dataclass(frozen=True)
class ParsedCron:
    """A valid cron expression, parsed once and cached (see `parse_cron`)."""

    expr: str  # normalised text: what to store and show
    fields: tuple[CronField, ...]  # second, minute, hour, day-of-month, month, day-of-week
    has_seconds: bool
    _template: CronSim = field(compare=False, repr=False)

    @property
    def second(self) -> CronField:
        return self.fields[0]

    @property
    def minute(self) -> CronField:
        return self.fields[1]

    @property
    def hour(self) -> CronField:
        return self.fields[2]

    @property
    def day(self) -> CronField:
        return self.fields[3]

    @property
    def month(self) -> CronField:
        return self.fields[4]

    @property
    def weekday(self) -> CronField:
        return self.fields[5]

    @property
    def fixed_time(self) -> bool:
        """Neither minute nor hour starts with `*`: DST rules 1-2 apply, else 3-4."""
        return not (self.minute.star or self.hour.star)

    def walls(self, after: datetime) -> Iterator[datetime]:
        """Naive wall-clock times that match, strictly after the naive `after`."""
        # cronsim iterators are stateful, so each call gets a fresh copy of the parsed
        # template instead of parsing the expression again.
        it = object.__new__(type(self._template))
        it.__dict__.update(self._template.__dict__)
        it.dt = after.replace(microsecond=0, fold=0)
        it.skip_initial_tick = False
        it.tick_direction = 1
        while True:
            try:
                yield next(it)
            except (StopIteration, OverflowError):  # nothing in 50 years, or year 9999
                return


class _CronSyntaxError(Exception):
    pass


class _NearestWeekdayCronSim(CronSim):
    """cronsim has no `NW` (nearest weekday): with it, day-of-month is matched here."""

    plain_days: frozenset[int] = frozenset()
    last: bool = False
    last_weekday: bool = False
    nearest: frozenset[int] = frozenset()

    def match_dom(self, d: date) -> bool:
        if d.day in self.plain_days:
            return True
        last_day = calendar.monthrange(d.year, d.month)[1]
        if self.last and d.day == last_day:
            return True
        if self.last_weekday and d.day == _nearest_weekday(d.year, d.month, last_day):
            return True
        return any(_nearest_weekday(d.year, d.month, n) == d.day for n in self.nearest)


def _nearest_weekday(year: int, month: int, day: int) -> int | None:
    """The weekday (Mon-Fri) nearest to `day`, without leaving the month (Quartz `W`)."""
    last = calendar.monthrange(year, month)[1]
    if day > last:
        return None
    wd = date(year, month, day).weekday()
    if wd == 5:  # Saturday: the Friday before, or Monday the 3rd if the 1st is a Saturday
        return day - 1 if day > 1 else day + 2
    if wd == 6:  # Sunday: the Monday after, or the Friday before at the end of the month
        return day + 1 if day < last else day - 2
    return day


def _number(spec: _FieldSpec, token: str, item: str) -> int:
    upper = token.upper()
    if upper in spec.names:
        return spec.names.index(upper) + spec.names_base
    if not token.isdigit() or not token.isascii():
        what = f"{spec.name} field: {token!r}"
        if token == "":
            raise _CronSyntaxError(f"{spec.name} field: {item!r} is missing a value")
        if spec.name == "month":
            raise _CronSyntaxError(f"{what} is not a number 1-12 or a month name (JAN-DEC)")
        if spec.name == "day-of-week":
            raise _CronSyntaxError(f"{what} is not a number 0-7 or a day name (SUN-SAT)")
        raise _CronSyntaxError(f"{what} is not a number {spec.lo}-{spec.hi}")
    value = int(token)
    if not spec.lo <= value <= spec.hi:
        raise _CronSyntaxError(f"{spec.name} field: {token!r} is out of range {spec.range_text}")
    return value


def _parse_term(spec: _FieldSpec, item: str) -> CronTerm:
    if item == "":
        raise _CronSyntaxError(f"{spec.name} field has an empty item (two commas in a row?)")
    base, slash, step_text = item.partition("/")
    upper = base.upper()  # messages quote the text as written; names and letters take any case
    if upper.endswith("W") or (spec.name == "day-of-month" and upper == "L"):
        if spec.name != "day-of-month":
            raise _CronSyntaxError(
                f"{spec.name} field: {item!r}: 'W' (nearest weekday) belongs in day-of-month"
            )
        if slash:
            raise _CronSyntaxError(f"{spec.name} field: {item!r}: a step cannot follow {base}")
        if upper == "L":
            return CronTerm("last")
        if upper == "LW":
            return CronTerm("last_weekday")
        if "-" in base or "," in base:
            raise _CronSyntaxError(f"{spec.name} field: {item!r}: 'W' takes a single day")
        return CronTerm("nearest_weekday", start=_number(spec, base[:-1], item))
    if spec.name == "day-of-week" and (upper.endswith("L") or "#" in base):
        if slash:
            raise _CronSyntaxError(f"{spec.name} field: {item!r}: a step cannot follow it")
        if "#" in base:
            day_text, _, nth_text = base.partition("#")
            day = _number(spec, day_text, item)
            if not nth_text.isdigit() or not 1 <= int(nth_text) <= 5:
                raise _CronSyntaxError(
                    f"{spec.name} field: {nth_text!r} in {item!r} is out of range 1-5 "
                    "(the week of the month)"
                )
            return CronTerm("nth_dow", start=day, nth=int(nth_text))
        return CronTerm("last_dow", start=_number(spec, base[:-1], item))
    if "L" in upper and spec.name == "day-of-month":
        raise _CronSyntaxError(f"{spec.name} field: {item!r}: use 'L' or 'LW' on their own")
    step = 1
    if slash:
        if not step_text.isdigit() or not step_text.isascii():
            raise _CronSyntaxError(
                f"{spec.name} field: step {step_text!r} in {item!r} is not a number"
            )
        step = int(step_text)
        size = spec.hi - spec.lo + 1 - (spec.name == "day-of-week")
        if not 1 <= step <= size:
            raise _CronSyntaxError(
                f"{spec.name} field: step {step_text!r} in {item!r} is out of range 1-{size}"
            )
    if base == "*":
        hi = 6 if spec.name == "day-of-week" else spec.hi
        return CronTerm("range", spec.lo, hi, step, star=True)
    if "-" in base:
        start_text, _, end_text = base.partition("-")
        start = _number(spec, start_text, item)
        end = _number(spec, end_text, item)
        if spec.name == "day-of-week" and end == 0 and start > 0:
            end = 7  # FRI-SUN
        if end < start:
            raise _CronSyntaxError(
                f"{spec.name} field: range {base!r} goes backwards; "
                f"write it in ascending order, or as a list such as '{start_text}-{spec.hi},"
                f"{spec.lo}-{end_text}'"
            )
        return CronTerm("range", start, end, step)
    start = _number(spec, base, item)
    return CronTerm("range", start, spec.hi if slash else start, step)  # "A/S": A to the top


def _normalise(expr: str) -> tuple[str, list[str]]:
    """(text to store, the 6 fields cronsim-style: seconds first)."""
    parts = expr.split()
    if not parts:
        raise _CronSyntaxError(
            f"cron expression is empty; expected 5 fields ({_FIELDS_HINT}), e.g. '*/15 * * * *'"
        )
    if parts[0].startswith("@"):
        macro = parts[0].lower()
        if macro == "@reboot":
            raise _CronSyntaxError(
                "@reboot is not supported: dts has no notion of a machine boot; "
                "use a schedule such as '@hourly'"
            )
        if macro not in MACROS:
            raise _CronSyntaxError(
                f"unknown macro {parts[0]!r}; use one of {', '.join(MACROS)}, "
                f"or 5 fields ({_FIELDS_HINT})"
            )
        if len(parts) > 1:
            raise _CronSyntaxError(f"{parts[0]} takes no fields, got {' '.join(parts[1:])!r}")
        return macro, ["0", *MACROS[macro].split()]
    if len(parts) not in (5, 6):
        extra = "; dts has no year field" if len(parts) == 7 else ""
        raise _CronSyntaxError(
            f"expected 5 fields ({_FIELDS_HINT}) or 6 with seconds first, got {len(parts)}{extra}"
        )
    for i in (-3, -1):  # Quartz's "no specific value" is "*" for the Vixie rule
        parts[i] = parts[i].replace("?", "*")
    fields = parts if len(parts) == 6 else ["0", *parts]
    return " ".join(parts).upper(), fields


@lru_cache(maxsize=4096)
def _parse(expr: str) -> ParsedCron:
    text, raw = _normalise(expr)
    fields = tuple(
        CronField(
            spec.name, raw_text.upper(), tuple(_parse_term(spec, t) for t in raw_text.split(","))
        )
        for spec, raw_text in zip(_SPECS, raw, strict=True)
    )
    day, month, weekday = fields[3], fields[4], fields[5]
    if (
        not day.star
        and weekday.star
        and all(t.kind in ("range", "nearest_weekday") for t in day.terms)
    ):
        first_day = min(t.start for t in day.terms)
        longest = max(_DAYS_IN_MONTH[m] for m in month.values)
        if first_day > longest:
            months = ", ".join(MONTH_NAMES[m - 1] for m in sorted(month.values))
            raise _CronSyntaxError(
                f"day-of-month field: {day.text!r} never happens in {months}; "
                "the schedule would never run"
            )
    nearest = frozenset(t.start for t in day.terms if t.kind == "nearest_weekday")
    cronsim_fields = [
        # with NW, day-of-month is matched by _NearestWeekdayCronSim; "L" is a placeholder
        "L" if f is day and nearest else ",".join(t.cronsim_text() for t in f.terms)
        for f in fields
    ]
    try:
        template = CronSim(" ".join(cronsim_fields), datetime(2000, 1, 1))
    except CronSimError as exc:  # our grammar is stricter; kept as a safety net
        raise _CronSyntaxError(f"{exc} in {text!r}") from None
    if nearest:
        plain = template
        template = object.__new__(_NearestWeekdayCronSim)
        template.__dict__.update(plain.__dict__)
        template.plain_days = frozenset(
            v for t in day.terms if t.kind == "range" for v in t.values()
        )
        template.last = any(t.kind == "last" for t in day.terms)
        template.last_weekday = any(t.kind == "last_weekday" for t in day.terms)
        template.nearest = nearest
    return ParsedCron(text, fields, has_seconds=len(text.split()) == 6, _template=template)


def parse_cron(expr: str, field: str = "cron") -> ParsedCron:
    """Parse a cron expression; a ValidationError on `field` says which part is wrong."""
    if not isinstance(expr, str):
        if expr is None:
            raise ValidationError("a cron expression is required, e.g. '*/5 * * * *'", field=field)
        raise ValidationError(f"cron expression must be a string, got {shown(expr)}", field=field)
    if len(expr) > MAX_CRON_LENGTH:
        raise ValidationError(
            f"cron expression is {len(expr):,} characters long; at most {MAX_CRON_LENGTH:,} "
            "are accepted (list fewer values, or use ranges and steps such as 1-30/2)",
            field=field,
        )
    try:
        return _parse(expr)
    except _CronSyntaxError as exc:
        raise ValidationError(str(exc), field=field) from None


def validate_cron(expr: str, field: str = "cron") -> str:
    """The normalised expression (single spaces, names upper-cased, macros lower-cased)."""
    return parse_cron(expr, field).expr


# --- schedule kinds -----------------------------------------------------------------------


def _require_aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError("must be a date and time with a UTC offset", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{value.isoformat()} has no UTC offset; add one, e.g. "
            f"'{value.replace(tzinfo=UTC).isoformat()}'",
            field=field,
        )
    return value


@dataclass(frozen=True)
class CronSchedule:
    expr: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "expr", validate_cron(self.expr, "cron"))
        load_timezone(self.timezone, "timezone")


@dataclass(frozen=True)
class IntervalSchedule:
    """Every `every_seconds` from `anchor`; `timezone` only says how to show the times."""

    every_seconds: float
    anchor: datetime
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        _check_every(self.every_seconds, "everySeconds")
        _require_aware(self.anchor, "anchor")
        load_timezone(self.timezone, "timezone")


@dataclass(frozen=True)
class AtSchedule:
    """Once, at `at`; `timezone` only says how to show the time."""

    at: datetime
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        _require_aware(self.at, "at")
        load_timezone(self.timezone, "timezone")


Schedule = CronSchedule | IntervalSchedule | AtSchedule
ScheduleKind = Literal["cron", "interval", "at"]


def _check_every(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"must be a number of seconds, got {shown(value)}", field=field)
    if not MIN_INTERVAL_SECONDS <= value <= MAX_INTERVAL_SECONDS:
        raise ValidationError(
            f"{value!r} seconds is out of range {MIN_INTERVAL_SECONDS:g}-"
            f"{MAX_INTERVAL_SECONDS:g} (1 second to 366 days)",
            field=field,
        )
    return float(value)


def schedule_from_fields(
    kind: str | None,
    cron: str | None = None,
    timezone: str | None = None,
    every_seconds: float | None = None,
    anchor: datetime | None = None,
    at: datetime | None = None,
) -> Schedule:
    """Build a schedule from API input, naming fields as the API does.

    Fields: `schedule.kind` ("cron" | "interval" | "at"; inferred from which of the others
    is given when None), `schedule.cron`, `schedule.timezone` (default "UTC"; for interval
    and at schedules it only says how times are shown), `schedule.everySeconds`,
    `schedule.anchor` (the interval's first run; services pass e.g. the creation time),
    `schedule.at`. Fields that do not belong to the kind are ignored.
    """
    if kind is None:
        candidates = (("cron", cron), ("interval", every_seconds), ("at", at))
        given = [k for k, v in candidates if v is not None]
        if len(given) != 1:
            raise ValidationError(
                "give exactly one of cron, everySeconds or at (or set kind)",
                field="schedule.kind",
            )
        kind = given[0]
    tz = "UTC" if timezone is None else timezone
    load_timezone(tz, "schedule.timezone")
    if kind == "cron":
        if cron is None:
            raise ValidationError("a cron schedule needs a cron expression", field="schedule.cron")
        return CronSchedule(validate_cron(cron, "schedule.cron"), tz)
    if kind == "interval":
        if every_seconds is None:
            raise ValidationError(
                "an interval schedule needs everySeconds", field="schedule.everySeconds"
            )
        every = _check_every(every_seconds, "schedule.everySeconds")
        if anchor is None:
            raise ValidationError(
                "an interval schedule needs an anchor (its first run)", field="schedule.anchor"
            )
        return IntervalSchedule(every, _require_aware(anchor, "schedule.anchor"), tz)
    if kind == "at":
        if at is None:
            raise ValidationError("a one-off schedule needs a time", field="schedule.at")
        return AtSchedule(_require_aware(at, "schedule.at"), tz)
    raise ValidationError(
        f"unknown schedule kind {kind!r}; use 'cron', 'interval' or 'at'", field="schedule.kind"
    )


# --- occurrences ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    at: datetime  # aware, UTC
    local: datetime  # aware, in the schedule's zone
    timezone: str
    note: str | None = None  # set when DST moved or doubled this time (module docstring)
    dst_shifted: bool = False  # DST moved this run off its scheduled wall time (rule 1)


def next_after(schedule: Schedule, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after` (aware), in UTC; None if there is none."""
    if isinstance(schedule, AtSchedule):  # the hot path skips building an Occurrence
        _check_after(after)
        return schedule.at.astimezone(UTC) if schedule.at > after else None
    if isinstance(schedule, IntervalSchedule):
        return _interval_next(schedule, after)
    first = next(iter_occurrences(schedule, after), None)
    return None if first is None else first.at


def occurrences(schedule: Schedule, after: datetime, count: int) -> list[Occurrence]:
    """The next `count` (1-1000) occurrences strictly after `after`."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ValidationError(
            f"count must be a whole number from 1 to {MAX_COUNT}, got {count!r}", field="count"
        )
    out: list[Occurrence] = []
    for occ in iter_occurrences(schedule, after):
        out.append(occ)
        if len(out) == count:
            break
    return out


def iter_occurrences(schedule: Schedule, after: datetime) -> Iterator[Occurrence]:
    """All occurrences strictly after `after`, in order (lazily; cron looks 50 years ahead)."""
    _check_after(after)
    zone = load_timezone(schedule.timezone)
    if isinstance(schedule, AtSchedule):
        if schedule.at > after:
            yield _plain(schedule.at.astimezone(UTC), zone, schedule.timezone)
        return
    if isinstance(schedule, IntervalSchedule):
        at = _interval_next(schedule, after)
        step = _micros(schedule.every_seconds)
        while at is not None:
            yield _plain(at, zone, schedule.timezone)
            try:
                at += timedelta(microseconds=step)
            except OverflowError:
                return
        return
    yield from _cron_occurrences(_parse(schedule.expr), zone, schedule.timezone, after)


def _check_after(after: datetime) -> None:
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"`after` must be timezone-aware, got {after!r}")


def _plain(at: datetime, zone: zoneinfo.ZoneInfo, zone_name: str) -> Occurrence:
    return Occurrence(at=at, local=at.astimezone(zone), timezone=zone_name)


def _micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _interval_next(schedule: IntervalSchedule, after: datetime) -> datetime | None:
    _check_after(after)
    anchor = schedule.anchor.astimezone(UTC)
    if after < anchor:
        return anchor
    elapsed = after - anchor
    elapsed_us = (elapsed.days * 86400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds
    step = _micros(schedule.every_seconds)
    try:
        return anchor + timedelta(microseconds=(elapsed_us // step + 1) * step)
    except OverflowError:
        return None


# Cron occurrences. Wall times come from cronsim on naive local time; each one maps to 0, 1
# or 2 instants by the rules in the module docstring. Instants come out in wall order except
# second passes of a repeated interval (and gap runs, held back to merge all the times of one
# gap), which wait in a heap until no later wall time can come before them.


@dataclass
class _Pending:
    at: datetime  # naive UTC
    note: str
    dst_shifted: bool
    gap_walls: list[datetime] = field(default_factory=list)  # rule 1: the times merged here


def _offsets(wall: datetime, zone: zoneinfo.ZoneInfo) -> tuple[timedelta, timedelta]:
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert first is not None and second is not None
    return first, second


def _offset_at(utc: datetime, zone: zoneinfo.ZoneInfo) -> timedelta:
    off = zone.fromutc(utc.replace(tzinfo=zone)).utcoffset()
    assert off is not None
    return off


def _transition(lo: datetime, hi: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The first naive-UTC instant in (lo, hi] that has hi's offset (lo's differs)."""
    target = _offset_at(hi, zone)
    lo_s, hi_s = 0, int((hi - lo).total_seconds())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset_at(lo + timedelta(seconds=mid), zone) == target:
            hi_s = mid
        else:
            lo_s = mid
    return lo + timedelta(seconds=hi_s)


def _hm(wall: datetime) -> str:
    return wall.strftime("%H:%M:%S" if wall.second else "%H:%M")


def _abbr(utc: datetime, zone: zoneinfo.ZoneInfo) -> str:
    local = zone.fromutc(utc.replace(tzinfo=zone))
    return f"{_hm(local)} {local.tzname()}"


def _times(walls: Sequence[datetime]) -> str:
    if len(walls) == 1:
        return f"{_hm(walls[0])} does not exist"
    fmt = "%H:%M:%S" if any(w.second for w in walls) else "%H:%M"
    first, last = walls[0].strftime(fmt), walls[-1].strftime(fmt)
    return f"{len(walls)} scheduled times from {first} to {last} do not exist"


def _gap_note(p: _Pending, zone: zoneinfo.ZoneInfo, zone_name: str) -> str:
    first = p.gap_walls[0]
    runs = "runs" if len(p.gap_walls) == 1 else "they run once,"
    return f"{_times(p.gap_walls)} on {first.date()} in {zone_name}; {runs} at {_abbr(p.at, zone)}"


def _cron_occurrences(
    parsed: ParsedCron, zone: zoneinfo.ZoneInfo, zone_name: str, after: datetime
) -> Iterator[Occurrence]:
    after_utc = after.astimezone(UTC).replace(tzinfo=None)
    local = after.astimezone(zone)
    start = local.replace(tzinfo=None, fold=0)
    off_first, off_second = _offsets(start, zone)
    if local.fold == 0 and off_first > off_second:
        # `after` is in the first pass of a repeated interval: second passes of earlier
        # wall times still lie ahead, so start from where the repeated interval begins.
        t = _transition(start - off_first, start - off_second, zone)
        start = t + off_second - timedelta(seconds=1)

    fixed = parsed.fixed_time
    heap: list[tuple[datetime, int, _Pending]] = []
    seq = 0
    skipped: list[datetime] = []  # rule 4, reported on the next occurrence
    last = after_utc

    def make(p: _Pending) -> Occurrence | None:
        nonlocal last
        if p.at <= last:
            return None
        last = p.at
        note = _gap_note(p, zone, zone_name) if p.gap_walls else p.note
        at = p.at.replace(tzinfo=UTC)
        return Occurrence(at, at.astimezone(zone), zone_name, note or None, p.dst_shifted)

    def push(p: _Pending) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (p.at, seq, p))

    def skip_note() -> str:
        if not skipped:
            return ""
        text = (
            f"{_times(skipped)} on {skipped[0].date()} in {zone_name}; "
            "skipped, as this schedule follows the wall clock"
        )
        skipped.clear()
        return text

    gap_end: datetime | None = None  # the last gap's end, reused for its other times
    for wall in parsed.walls(start):
        off_first, off_second = _offsets(wall, zone)
        if off_first < off_second:  # in a gap
            lo, hi = wall - off_second, wall - off_first
            if gap_end is None or not lo < gap_end <= hi:
                gap_end = _transition(lo, hi, zone)
            earliest = gap_end
        else:
            earliest = wall - off_first
        ready: list[_Pending] = []
        while heap and heap[0][0] < earliest:
            ready.append(heapq.heappop(heap)[2])
        if off_first == off_second:
            if heap and heap[0][0] == earliest and heap[0][2].gap_walls:
                # this is the first instant after a gap: the same run as the gap's (rule 1)
                ready.append(heapq.heappop(heap)[2])
            else:
                ready.append(_Pending(earliest, skip_note(), False))
        elif off_first < off_second:
            if not fixed:
                skipped.append(wall)
            elif heap and heap[0][0] == earliest and heap[0][2].gap_walls:
                heap[0][2].gap_walls.append(wall)  # another time in the same gap
            else:
                push(_Pending(earliest, "", True, [wall]))
        else:
            twice = f"{_hm(wall)} happens twice on {wall.date()} in {zone_name}"
            first_at, second_at = wall - off_first, wall - off_second
            if fixed:
                note = f"{twice}; runs once, at the first {_abbr(first_at, zone)}"
                ready.append(_Pending(first_at, note, False))
            else:
                both = f"{_abbr(first_at, zone)} and {_abbr(second_at, zone)}"
                note = f"{twice}; this schedule runs at both, {both}"
                ready.append(
                    _Pending(first_at, "; ".join(filter(None, [skip_note(), note])), False)
                )
                push(_Pending(second_at, note, False))
        for p in ready:
            occ = make(p)
            if occ is not None:
                yield occ
    while heap:
        occ = make(heapq.heappop(heap)[2])
        if occ is not None:
            yield occ


# --- showing occurrences ----------------------------------------------------------------------


def convert(instant: datetime, zones: Sequence[str], field: str = "zones") -> dict[str, datetime]:
    """`instant` on the wall clock of each named zone (for viewers in other zones)."""
    _check_after(instant)
    return {name: instant.astimezone(load_timezone(name, field)) for name in zones}


def occurrence_to_dict(o: Occurrence, extra_zones: Sequence[str] = ()) -> dict[str, object]:
    """JSON-ready: {utc, local, timezone, note, dstShifted, zones: {name: local ISO}}."""
    return {
        "utc": utc_iso(o.at),
        "local": o.local.isoformat(),
        "timezone": o.timezone,
        "note": o.note,
        "dstShifted": o.dst_shifted,
        "zones": {name: dt.isoformat() for name, dt in convert(o.at, extra_zones).items()},
    }
