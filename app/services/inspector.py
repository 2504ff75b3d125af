"""The inspector: the next occurrences of a schedule, DST notes included, for every interface.

One function per question, three faces: REST (`POST /api/inspector/preview`,
`GET /api/inspector/job/:id`), GraphQL (`previewSchedule`) and the CLI (`dts preview`).
Each face passes the user's input here as it came, so validation and its messages are the
same everywhere: every error names the field (`cron`, `timezone`, `count`, `from`, `zones`).

Previews are bounded (at most `MAX_COUNT` occurrences in `MAX_ZONES` extra zones, and
`MAX_PREVIEW_WORK` rows per GraphQL operation however many aliases it has) and computed on
a small thread pool, never on the event loop: the process that answers a preview may also
be the one that starts scheduled runs on time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from app.db.types import utcnow
from app.domain.cron_text import describe
from app.domain.errors import ValidationError, shown
from app.domain.instants import utc_iso
from app.domain.job_input import parse_instant
from app.domain.schedule import (
    MAX_COUNT,
    AtSchedule,
    CronSchedule,
    IntervalSchedule,
    Occurrence,
    Schedule,
    load_timezone,
    occurrence_to_dict,
    occurrences,
    parse_cron,
)
from app.services.access import Principal
from app.services.jobs import JobService, job_schedule

DEFAULT_COUNT = 10
MAX_ZONES = 10
# One full preview (1,000 occurrences, each also shown in 10 zones) per operation: enough
# for any screen, and a bound on what 30 aliases of one query can make the server compute.
MAX_PREVIEW_WORK = MAX_COUNT * (1 + MAX_ZONES)
PREVIEW_THREADS = 2

__all__ = [
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "MAX_PREVIEW_WORK",
    "MAX_ZONES",
    "PreviewBudget",
    "compute_off_loop",
    "preview",
    "preview_job",
]

P = ParamSpec("P")
T = TypeVar("T")

# Few threads on purpose: previews are CPU-bound, so more threads would only queue for the
# GIL; the loop thread still gets its turn every few milliseconds while they work.
_POOL = ThreadPoolExecutor(max_workers=PREVIEW_THREADS, thread_name_prefix="dts-preview")


async def compute_off_loop(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run CPU-heavy preview work on the preview threads; errors are raised here as usual."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, functools.partial(call, *args, **kwargs))


class PreviewBudget:
    """How many preview rows (occurrences × (1 + extra zones)) one operation may still ask for.

    GraphQL lets one request hold many previews (aliases, `nextRuns` on every job of a
    page); each is charged here before it is computed, so the sum stays bounded.
    """

    def __init__(self, limit: int = MAX_PREVIEW_WORK) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, count: int, zones: Sequence[str], field: str = "count") -> None:
        cost = count * (1 + len(zones))
        if self.used + cost > self.limit:
            raise ValidationError(
                f"this request asks for more than {self.limit:,} preview rows in total "
                "(occurrences × (1 + zones), added up over every previewSchedule and nextRuns "
                "in it); ask for fewer occurrences or zones, or split it into several requests",
                field=field,
            )
        self.used += cost


def check_count(count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ValidationError(
            f"must be a whole number from 1 to {MAX_COUNT}, got {shown(count)}", field="count"
        )
    return count


def check_zones(zones: Any) -> tuple[str, ...]:
    if zones is None:
        return ()
    if isinstance(zones, str) or not isinstance(zones, Sequence):
        raise ValidationError("expected a list of IANA zone names", field="zones")
    if len(zones) > MAX_ZONES:
        raise ValidationError(f"at most {MAX_ZONES} extra zones, got {len(zones)}", field="zones")
    for index, name in enumerate(zones):
        load_timezone(name, field=f"zones[{index}]")
    return tuple(zones)


def _start(start: Any, now: datetime | None) -> datetime:
    if start is None:
        return (now or utcnow()).astimezone(UTC)
    return parse_instant(start, "from")


def occurrence_view(occurrence: Occurrence, zones: Sequence[str] = ()) -> dict[str, Any]:
    """`occurrence_to_dict` plus the local UTC offset and zone abbreviation (`CEST`)."""
    view = occurrence_to_dict(occurrence, zones)
    offset = occurrence.local.strftime("%z")
    view["offset"] = f"{offset[:3]}:{offset[3:]}" if offset else "+00:00"
    view["abbreviation"] = occurrence.local.tzname()
    return view


def _result(
    schedule: Schedule,
    *,
    cron: str | None,
    description: str,
    start: datetime,
    count: int,
    zones: Sequence[str],
) -> dict[str, Any]:
    found = occurrences(schedule, start, count)
    return {
        "cron": cron,
        "timezone": schedule.timezone,
        "description": description,
        "from": utc_iso(start),
        "count": len(found),
        "occurrences": [occurrence_view(o, zones) for o in found],
    }


def preview(
    cron: Any,
    timezone: Any = "UTC",
    count: Any = DEFAULT_COUNT,
    start: Any = None,
    zones: Any = (),
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The next `count` (1-1000) occurrences of `cron` in `timezone`, strictly after `start`.

    `start` is an aware datetime or an ISO 8601 string with an offset (default: `now`, the
    current time). `zones` are extra IANA zones in which each instant is also shown.
    Returns `{cron, timezone, description, from, count, occurrences: [{utc, local, offset,
    abbreviation, timezone, note, dstShifted, zones}]}`; `count` is how many were found
    (fewer than asked only for an expression that matches rarely, e.g. 29 February).
    """
    parsed = parse_cron(cron, field="cron")
    if timezone is None:
        timezone = "UTC"
    load_timezone(timezone, field="timezone")
    wanted = check_count(count)
    after = _start(start, now)
    extra = check_zones(zones)
    schedule = CronSchedule(parsed.expr, timezone)
    return _result(
        schedule,
        cron=parsed.expr,
        description=describe(parsed.expr),
        start=after,
        count=wanted,
        zones=extra,
    )


def describe_schedule(schedule: Schedule) -> str:
    if isinstance(schedule, CronSchedule):
        return describe(schedule.expr)
    if isinstance(schedule, IntervalSchedule):
        seconds = schedule.every_seconds
        return f"Every {seconds:g} seconds from {utc_iso(schedule.anchor)}"
    assert isinstance(schedule, AtSchedule)
    return f"Once, at {utc_iso(schedule.at)}"


async def preview_job(
    jobs: JobService,
    principal: Principal,
    job_id: int,
    count: Any = DEFAULT_COUNT,
    start: Any = None,
    zones: Any = (),
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """`preview` for a stored job the principal may read (any schedule kind), plus `jobId`.

    A paused job still shows its schedule: what would run if it were resumed.
    """
    wanted = check_count(count)
    after = _start(start, now or jobs.clock())
    extra = check_zones(zones)
    job = await jobs.get_job(principal, job_id)
    schedule = job_schedule(job)
    result = await compute_off_loop(
        _result,
        schedule,
        cron=schedule.expr if isinstance(schedule, CronSchedule) else None,
        description=describe_schedule(schedule),
        start=after,
        count=wanted,
        zones=extra,
    )
    return {"jobId": job.id, "paused": job.paused, **result}
