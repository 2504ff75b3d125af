"""Cron expressions in plain English: "At 09:00 on Monday through Friday".

Common shapes get the phrase a person would write; anything else is described field by
field, so every valid expression gets a description that is true, if not always pretty.
Steps are called "every N minutes" only when they divide the hour (or day) evenly: `*/7`
restarts at minute 0 each hour, so it is spelled out as a list of minutes instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from app.domain.schedule import CronField, CronTerm, ParsedCron, parse_cron

__all__ = ["describe"]

_MONTHS = (
    *("January", "February", "March", "April", "May", "June", "July"),
    *("August", "September", "October", "November", "December"),
)
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_MAX_TIMES = 6  # list up to this many times of day ("At 08:00, 12:00 and 18:00")


def describe(expr: str) -> str:
    """Describe a valid cron expression; raises ValidationError (field `cron`) if invalid."""
    parsed = parse_cron(expr)
    time, daily = _time(parsed)
    date = _date(parsed)
    if date == " every day" and not daily:
        date = ""  # "Every 15 minutes", not "Every 15 minutes every day"
    text = f"{time}{date}"
    return text[0].upper() + text[1:]


# --- helpers -------------------------------------------------------------------------------


def _join(items: Sequence[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _runs(values: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for v in values:
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def _list(values: Iterable[int], name: Callable[[int], str] = str) -> list[str]:
    """Runs of 3+ as "A through B", shorter runs as single items."""
    items: list[str] = []
    for a, b in _runs(values):
        if b - a >= 2:
            items.append(f"{name(a)} through {name(b)}")
        else:
            items.extend(name(v) for v in range(a, b + 1))
    return items


def _step(f: CronField, period: int) -> int | None:
    """N for a field written `*` or `*/N` where N divides the period evenly, else None."""
    if len(f.terms) != 1:
        return None
    t = f.terms[0]
    if t.kind != "range" or not t.star or period % t.step:
        return None
    return t.step


def _every(n: int, unit: str) -> str:
    return f"every {unit}" if n == 1 else f"every {n} {unit}s"


def _hhmm(h: int, m: int, s: int = 0) -> str:
    return f"{h:02d}:{m:02d}:{s:02d}" if s else f"{h:02d}:{m:02d}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _plural(word: str, items: Sequence[str]) -> str:
    single = len(items) == 1 and " through " not in items[0]
    return f"{word if single else word + 's'} {_join(items)}"


# --- time of day ------------------------------------------------------------------------------


def _time(p: ParsedCron) -> tuple[str, bool]:
    """(phrase, whether it names times of day, so that "every day" reads well after it)."""
    seconds = sorted(p.second.values)
    if seconds == [0]:
        return _minutes_hours(p)
    every_s = _step(p.second, 60)
    if every_s and p.minute.text == "*" and p.hour.text == "*":
        return _every(every_s, "second"), False
    minutes, hours = sorted(p.minute.values), sorted(p.hour.values)
    if len(seconds) * len(minutes) * len(hours) <= _MAX_TIMES:
        times = [_hhmm(h, m, s) for h in hours for m in minutes for s in seconds]
        return "at " + _join(times), True
    sec = _every(every_s, "second") if every_s else "at " + _plural("second", _list(seconds))
    rest, daily = _minutes_hours(p)
    return f"{sec}, {rest}", daily


def _minutes_hours(p: ParsedCron) -> tuple[str, bool]:
    m, h = p.minute, p.hour
    every_m, every_h = _step(m, 60), _step(h, 24)
    minutes, hours = sorted(m.values), sorted(h.values)
    if every_m and every_h == 1:
        return _every(every_m, "minute"), False
    if len(minutes) == 1 and every_h:
        if minutes[0] == 0:
            return _every(every_h, "hour"), False
        return f"at minute {minutes[0]} past {_every(every_h, 'hour')}", False
    if every_h == 1:
        return f"at {_plural('minute', _list(minutes))} past every hour", False
    return _within_day(m, h, every_m, every_h, minutes, hours), True


def _within_day(
    m: CronField,
    h: CronField,
    every_m: int | None,
    every_h: int | None,
    minutes: list[int],
    hours: list[int],
) -> str:
    if len(minutes) * len(hours) <= _MAX_TIMES:
        return "at " + _join([_hhmm(hh, mm) for hh in hours for mm in minutes])
    if every_m:
        runs = _runs(hours)
        if len(runs) == 1:
            window = f"from {_hhmm(runs[0][0], 0)} through {_hhmm(runs[0][1], 59)}"
        else:
            window = "during " + _plural("hour", _list(hours))
        return f"{_every(every_m, 'minute')} {window}"
    if len(minutes) == 1 and len(h.terms) == 1 and not h.terms[0].star:
        step, mm = h.terms[0].step, minutes[0]
        first, last = _hhmm(hours[0], mm), _hhmm(hours[-1], mm)
        return f"{_every(step, 'hour')} from {first} through {last}"
    minute_text = _every(every_m, "minute") if every_m else _plural("minute", _list(minutes))
    hour_text = _every(every_h, "hour") if every_h else _plural("hour", _list(hours))
    return f"at {minute_text} past {hour_text}"


# --- days -------------------------------------------------------------------------------


def _month_name(m: int) -> str:
    return _MONTHS[m - 1]


def _day_name(d: int) -> str:
    return _DAYS[d % 7]


def _months(p: ParsedCron) -> str:
    return _join(_list(sorted(p.month.values), _month_name))


def _weekdays(f: CronField, word: str = "and") -> str:
    # Monday first, Sunday last, so that SAT,SUN reads "Saturday and Sunday".
    plain = sorted((d or 7) for d in f.values)
    items = _list(plain, _day_name) if len(plain) < 7 else ["every day of the week"]
    for t in f.terms:
        if t.kind == "last_dow":
            items.append(f"the last {_day_name(t.start)} of the month")
        elif t.kind == "nth_dow":
            items.append(f"the {_ORDINALS[t.nth]} {_day_name(t.start)} of the month")
    return _join(items, word)


def _day_term(t: CronTerm) -> str:
    if t.kind == "last":
        return "the last day"
    if t.kind == "last_weekday":
        return "the last weekday"
    return f"the weekday nearest day {t.start}"


def _days_of_month(f: CronField) -> list[str]:
    items: list[str] = []
    plain = [t for t in f.terms if t.kind == "range"]
    if len(plain) == 1 and plain[0].step > 1 and len(f.values) > _MAX_TIMES:
        t = plain[0]
        every = f"every {_ordinal(t.step)} day"
        items.append(every if t.star else f"{every} from day {t.start} through {t.end}")
    elif plain:
        items.append(_plural("day", _list(sorted(f.values))))
    items.extend(_day_term(t) for t in f.terms if t.kind != "range")
    return items


def _date(p: ParsedCron) -> str:
    day, weekday, month = p.day, p.weekday, p.month
    any_day, any_weekday, any_month = day.text == "*", weekday.text == "*", month.text == "*"
    in_months = "" if any_month else f" in {_months(p)}"
    every_weekday = len(weekday.values) == 7 and all(t.kind == "range" for t in weekday.terms)
    if any_day and (any_weekday or every_weekday):
        return f" every day{in_months}"
    if any_day:
        return f" on {_weekdays(weekday)}{in_months}"
    days = _days_of_month(day)
    single_date = len(day.terms) == 1 and day.terms[0].kind == "range" and len(day.values) == 1
    if single_date and len(month.values) == 1 and any_weekday:
        (d,) = day.values
        (m,) = month.values
        return f" on {_month_name(m)} {d}"
    of = " of the month" if any_month else f" of {_months(p)}"
    on_days = f" on {_join(days)}{of}"
    if any_weekday:
        return on_days
    if day.star or weekday.star:  # both must match (Vixie rule)
        return f"{on_days}, if it is {_weekdays(weekday, 'or')}"
    in_months = in_months and f",{in_months}"
    return f" on {_join(days)} of the month, and on {_weekdays(weekday)}{in_months}"
