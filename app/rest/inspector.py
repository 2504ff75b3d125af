"""`/api/inspector`: preview the next occurrences of a cron expression, or of a stored job.

`POST /api/inspector/preview` is public: it reads no data and costs at most 1,000
occurrences, and the dashboard's job form calls it while the user types. Credentials, if
sent, must still be valid. `GET /api/inspector/job/:id` follows the job's access rules.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.domain.errors import ValidationError
from app.rest.request import (
    MAX_ID,
    body_number,
    caller,
    object_body,
    optional_caller,
    path_id,
    query_int,
    services_of,
)
from app.services.inspector import DEFAULT_COUNT, compute_off_loop, preview, preview_job


async def preview_schedule(request: Request) -> JSONResponse:
    """`{cron, timezone, count, from?, zones?}` → `{cron, timezone, description, occurrences}`."""
    await optional_caller(request)
    data = await object_body(request)
    unknown = sorted(set(data) - {"cron", "timezone", "count", "from", "zones"})
    if unknown:
        raise ValidationError(f"unknown field {unknown[0][:40]!r}", field=unknown[0][:40])
    result = await compute_off_loop(
        preview,
        data.get("cron"),
        data.get("timezone", "UTC"),
        body_number(data, "count", DEFAULT_COUNT),
        data.get("from"),
        data.get("zones") or (),
        now=services_of(request).clock(),
    )
    return JSONResponse(result)


async def preview_stored_job(request: Request) -> JSONResponse:
    """`?count=10&from=&zone=Europe/Paris&zone=…` → the job's next occurrences."""
    principal = await caller(request)
    job_id = path_id(request, "job")
    count = query_int(request, "count", DEFAULT_COUNT, -MAX_ID, MAX_ID)
    services = services_of(request)
    result = await preview_job(
        services.jobs,
        principal,
        job_id,
        count,
        request.query_params.get("from") or None,
        request.query_params.getlist("zone"),
        now=services.clock(),
    )
    return JSONResponse(result)
