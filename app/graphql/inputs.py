"""GraphQL inputs, turned into the same dict the REST API sends, for one parser to check.

Only fields a client actually sent are passed on (UNSET is left out), so `updateJob` is a
true partial update.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import strawberry

from app.domain.errors import ValidationError
from app.domain.retry import (
    DEFAULT_INITIAL_DELAY,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_DELAY,
    DEFAULT_MULTIPLIER,
)
from app.graphql.types import ConcurrencyPolicy, JobType, MisfirePolicy


@strawberry.input
class ScheduleInput:
    cron: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    every_seconds: float | None = strawberry.UNSET
    anchor: datetime | None = strawberry.UNSET
    at: datetime | None = strawberry.UNSET


@strawberry.input
class HeaderInput:
    name: str
    value: str = strawberry.field(
        description="Send the mask (••••••) back to keep a stored secret."
    )
    secret: bool = False


@strawberry.input
class HttpRequestInput:
    method: str = "GET"
    url: str
    headers: list[HeaderInput] | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    body_is_json: bool = strawberry.field(
        default=False, description="Parse `body` as JSON (validated) and send it as JSON."
    )
    success_statuses: list[int] | None = strawberry.UNSET
    follow_redirects: bool | None = strawberry.UNSET


@strawberry.input
class EnvVarInput:
    name: str
    value: str


@strawberry.input
class ScriptCommandInput:
    command: str
    args: list[str] | None = strawberry.UNSET
    cwd: str | None = strawberry.UNSET
    env: list[EnvVarInput] | None = strawberry.UNSET


@strawberry.input(
    description="Retries of a failed occurrence. Left out on createJob, a field takes its "
    "default (3 attempts, the first retry 15-30 s after the failure, the next 1-2 min later); "
    "left out on updateJob, it stays as it is."
)
class RetryInput:
    max_attempts: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Attempts per occurrence, the first included (1: no retries). "
        f"Default {DEFAULT_MAX_ATTEMPTS}.",
    )
    initial_delay: float | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Seconds of backoff after the first failure (the wait is between half "
        f"of it and all of it). Default {DEFAULT_INITIAL_DELAY:g}.",
    )
    max_delay: float | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Cap on the backoff, in seconds. Default {DEFAULT_MAX_DELAY:g}.",
    )
    multiplier: float | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Growth of the backoff per attempt. Default {DEFAULT_MULTIPLIER:g}.",
    )


@strawberry.input
class JobInput:
    """A whole job for createJob; every field optional in updateJob (only sent ones change)."""

    type: JobType | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    schedule: ScheduleInput | None = strawberry.UNSET
    http: HttpRequestInput | None = strawberry.UNSET
    script: ScriptCommandInput | None = strawberry.UNSET
    retry: RetryInput | None = strawberry.UNSET
    timeout_seconds: float | None = strawberry.UNSET
    concurrency: ConcurrencyPolicy | None = strawberry.UNSET
    misfire: MisfirePolicy | None = strawberry.UNSET
    misfire_limit: int | None = strawberry.UNSET
    starting_deadline_seconds: float | None = strawberry.UNSET
    paused: bool | None = strawberry.UNSET


@strawberry.input
class JobFilterInput:
    type: JobType | None = None
    paused: bool | None = None
    search: str | None = None


def _given(value: Any) -> bool:
    return value is not strawberry.UNSET


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _plain(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if _given(value):
            out[_camel(name)] = value.value if hasattr(value, "value") else value
    return out


def job_input_dict(data: JobInput) -> dict[str, Any]:
    """The REST-shaped dict for `app.domain.job_input.parse_job_input`."""
    out: dict[str, Any] = {}
    for name in (
        "type",
        "name",
        "description",
        "timeout_seconds",
        "concurrency",
        "misfire",
        "misfire_limit",
        "starting_deadline_seconds",
        "paused",
    ):
        value = getattr(data, name)
        if _given(value):
            out[_camel(name)] = value.value if hasattr(value, "value") else value
    if _given(data.schedule) and data.schedule is not None:
        schedule = _plain(data.schedule)
        for key in ("anchor", "at"):
            if isinstance(schedule.get(key), datetime):
                schedule[key] = schedule[key].isoformat()
        out["schedule"] = schedule
    if _given(data.retry) and data.retry is not None:
        out["retry"] = _plain(data.retry)
    if _given(data.http) and data.http is not None:
        http = data.http
        request: dict[str, Any] = {"method": http.method, "url": http.url}
        if _given(http.headers) and http.headers is not None:
            request["headers"] = [
                {"name": h.name, "value": h.value, "secret": h.secret} for h in http.headers
            ]
        if _given(http.body) and http.body is not None:
            if http.body_is_json:
                try:
                    request["body"] = json.loads(http.body)
                except RecursionError:
                    raise ValidationError(
                        "the JSON nests too deeply to be sent", field="http.body"
                    ) from None
                except ValueError as error:
                    raise ValidationError(f"not valid JSON: {error}", field="http.body") from None
            else:
                request["body"] = http.body
        if _given(http.success_statuses):
            request["successStatuses"] = http.success_statuses
        if _given(http.follow_redirects) and http.follow_redirects is not None:
            request["followRedirects"] = http.follow_redirects
        out["http"] = request
    if _given(data.script) and data.script is not None:
        script = data.script
        command: dict[str, Any] = {"command": script.command}
        if _given(script.args) and script.args is not None:
            command["args"] = script.args
        if _given(script.cwd) and script.cwd is not None:
            command["cwd"] = script.cwd
        if _given(script.env) and script.env is not None:
            command["env"] = {e.name: e.value for e in script.env}
        out["script"] = command
    return out
