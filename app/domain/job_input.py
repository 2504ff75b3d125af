"""Job input as REST and GraphQL send it, validated into one `JobDraft`.

Both interfaces hand this module the same camelCase shape (the original brief's, extended):

    {"type": "script", "name": "hello-script",
     "schedule": "*/2 * * * *", "timezone": "UTC",          # or an object, see below
     "script": {"command": "node", "args": ["scripts/hello.js"], "cwd": "./"},
     "retry": {"maxAttempts": 3, "initialDelay": 30, "maxDelay": 600, "multiplier": 4},
     "timeoutSeconds": 60, "concurrency": "allow", "misfire": "coalesce",
     "misfireLimit": 100, "startingDeadlineSeconds": null, "paused": false}

`schedule` may also be `{"cron": "...", "timezone": "..."}`, `{"everySeconds": 30,
"anchor": "2026-01-01T00:00:00Z"}` or `{"at": "2026-12-24T18:00:00+01:00"}`. Every error
names the field it concerns with its dotted path (`schedule.cron`, `retry.maxAttempts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from app.domain.errors import ValidationError, shown
from app.domain.job_spec import JobSpec, parse_job_spec
from app.domain.retry import RetryPolicy
from app.domain.schedule import (
    CronSchedule,
    Schedule,
    load_timezone,
    schedule_from_fields,
    validate_cron,
)

CONCURRENCY_POLICIES = ("allow", "forbid", "replace")
MISFIRE_POLICIES = ("coalesce", "all", "skip")
MAX_TIMEOUT_SECONDS = 24 * 3600.0
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000

TOP_LEVEL_FIELDS = {
    "type",
    "name",
    "description",
    "schedule",
    "timezone",
    "http",
    "script",
    "retry",
    "timeoutSeconds",
    "concurrency",
    "misfire",
    "misfireLimit",
    "startingDeadlineSeconds",
    "paused",
}


@dataclass(frozen=True)
class JobDraft:
    name: str
    type: str
    spec: JobSpec
    schedule: Schedule
    description: str = ""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: float = 60.0
    concurrency: str = "allow"
    misfire: str = "coalesce"
    misfire_limit: int = 100
    starting_deadline_seconds: float | None = None
    paused: bool = False


def parse_instant(value: Any, field: str) -> datetime:
    """An ISO 8601 instant with an offset (or Z); a naive time is ambiguous and refused."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"{value!r} is not an ISO 8601 time such as 2026-03-29T02:30:00+02:00",
                field=field,
            ) from None
    else:
        raise ValidationError("expected an ISO 8601 time string", field=field)
    if parsed.tzinfo is None:
        raise ValidationError(
            f"{value!r} has no UTC offset; add one (e.g. 'Z' or '+01:00')", field=field
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 at +05:00 is before the first UTC instant
        raise ValidationError(
            f"{value!r} is outside the years 1 to 9999 once converted to UTC", field=field
        ) from None


def _number(
    data: Mapping[str, Any], key: str, field: str, default: float, lo: float, hi: float
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"expected a number, got {shown(value)}", field=field)
    if not lo <= value <= hi:
        raise ValidationError(f"{value} is out of range {lo:g}-{hi:g}", field=field)
    return float(value)


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        options = ", ".join(choices)
        name = field.rsplit(".", 1)[-1]
        got = "" if value is None else f", not {shown(value)}"
        raise ValidationError(f"{name} must be one of {options}{got}", field=field)
    return str(value)


def _parse_schedule(
    data: Mapping[str, Any], base: JobDraft | None, now: datetime | None
) -> Schedule:
    raw = data.get("schedule")
    timezone = data.get("timezone")
    if timezone is not None:  # the brief's JSON: {"schedule": "0 9 * * *", "timezone": "…"}
        load_timezone(timezone, field="timezone")
    if raw is None:
        if base is None:
            raise ValidationError("a schedule is required, e.g. '*/5 * * * *'", field="schedule")
        if timezone is None:
            return base.schedule
        raw = getattr(base.schedule, "expr", None)
        if raw is None:
            raise ValidationError("a timezone applies only to cron schedules", field="timezone")
    if isinstance(raw, str):  # errors name what was sent: `schedule`, not `schedule.cron`
        return CronSchedule(validate_cron(raw, field="schedule"), timezone or "UTC")
    if not isinstance(raw, Mapping):
        raise ValidationError(
            "expected a cron string or an object with cron, everySeconds or at", field="schedule"
        )
    unknown = set(raw) - {"cron", "timezone", "everySeconds", "anchor", "at", "kind"}
    if unknown:
        raise ValidationError(f"unknown field {sorted(unknown)[0]!r}", field="schedule")
    kinds = [k for k in ("cron", "everySeconds", "at") if raw.get(k) is not None]
    if len(kinds) != 1:
        raise ValidationError("give exactly one of cron, everySeconds or at", field="schedule")
    kind = {"cron": "cron", "everySeconds": "interval", "at": "at"}[kinds[0]]
    anchor = raw.get("anchor")
    if anchor is None and kind == "interval":
        anchor = now or datetime.now(UTC)  # an interval starts counting when it is created
    at = raw.get("at")
    return schedule_from_fields(
        kind=kind,
        cron=raw.get("cron"),
        timezone=raw.get("timezone") or timezone or "UTC",
        every_seconds=raw.get("everySeconds"),
        anchor=parse_instant(anchor, "schedule.anchor") if anchor is not None else None,
        at=parse_instant(at, "schedule.at") if at is not None else None,
    )


def _parse_retry(raw: Any, base: RetryPolicy) -> RetryPolicy:
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        raise ValidationError("expected an object with maxAttempts, initialDelay…", field="retry")
    unknown = set(raw) - {"maxAttempts", "initialDelay", "maxDelay", "multiplier"}
    if unknown:
        raise ValidationError(f"unknown field {sorted(unknown)[0]!r}", field="retry")
    attempts = raw.get("maxAttempts", base.max_attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise ValidationError(
            f"expected a whole number, got {shown(attempts)}", field="retry.maxAttempts"
        )
    return RetryPolicy(
        max_attempts=attempts,
        initial_delay=_number(
            raw, "initialDelay", "retry.initialDelay", base.initial_delay, 0, 86400
        ),
        max_delay=_number(raw, "maxDelay", "retry.maxDelay", base.max_delay, 0, 86400),
        multiplier=_number(raw, "multiplier", "retry.multiplier", base.multiplier, 1, 10),
    )


def parse_job_input(
    data: Any, *, base: JobDraft | None = None, now: datetime | None = None
) -> JobDraft:
    """Validate a whole job (`base` None) or a partial update of `base`."""
    if not isinstance(data, Mapping):
        raise ValidationError("expected a JSON object describing the job", field="input")
    unknown = set(data) - TOP_LEVEL_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(f"unknown field {name!r}", field=name)

    job_type = data.get("type", base.type if base else None)
    if base is not None and job_type != base.type:
        raise ValidationError("a job's type cannot be changed; create a new job", field="type")
    job_type = _choice(job_type, "type", ("http", "script"))

    name = data.get("name", base.name if base else None)
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("a name is required", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"must be at most {MAX_NAME_LENGTH} characters", field="name")

    other = "script" if job_type == "http" else "http"
    if data.get(other) is not None:
        raise ValidationError(f"a {job_type} job takes '{job_type}', not '{other}'", field=other)
    if data.get(job_type) is not None:
        spec = parse_job_spec(job_type, data[job_type])
    elif base is not None:
        spec = base.spec
    else:
        raise ValidationError(f"the {job_type} request is required", field=job_type)

    description = data.get("description", base.description if base else "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationError(
            f"expected text of at most {MAX_DESCRIPTION_LENGTH} characters", field="description"
        )

    defaults = base or JobDraft(name=name, type=job_type, spec=spec, schedule=None)  # type: ignore[arg-type]
    deadline = data.get("startingDeadlineSeconds", defaults.starting_deadline_seconds)
    if deadline is not None:
        deadline = _number(
            data, "startingDeadlineSeconds", "startingDeadlineSeconds", 0, 1, 7 * 86400
        )
    limit = data.get("misfireLimit", defaults.misfire_limit)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValidationError(
            f"expected a whole number 1-1000, got {shown(limit)}", field="misfireLimit"
        )
    paused = data.get("paused", defaults.paused)
    if not isinstance(paused, bool):
        raise ValidationError(f"expected true or false, got {shown(paused)}", field="paused")

    draft = replace(
        defaults,
        name=name.strip(),
        type=job_type,
        spec=spec,
        description=description,
        schedule=_parse_schedule(data, base, now),
        retry=_parse_retry(data.get("retry"), defaults.retry),
        timeout_seconds=_number(
            data,
            "timeoutSeconds",
            "timeoutSeconds",
            defaults.timeout_seconds,
            1,
            MAX_TIMEOUT_SECONDS,
        ),
        concurrency=_choice(
            data.get("concurrency", defaults.concurrency), "concurrency", CONCURRENCY_POLICIES
        ),
        misfire=_choice(data.get("misfire", defaults.misfire), "misfire", MISFIRE_POLICIES),
        misfire_limit=limit,
        starting_deadline_seconds=deadline,
        paused=paused,
    )
    return draft
