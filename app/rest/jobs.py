"""`/api/jobs`: list, create, read, change, delete, trigger, pause and resume jobs.

The body of POST and PATCH is the brief's job JSON, handed to `JobService` as it came:
`app/domain/job_input.py` is the one parser, shared with GraphQL.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.errors import ValidationError, shown
from app.rest.request import (
    caller,
    client_ip,
    json_body,
    object_body,
    path_id,
    query_bool,
    query_id,
    query_int,
    query_text,
    services_of,
)
from app.rest.shapes import job_json, page_json, run_json
from app.services.jobs import JobFilter
from app.services.runs import MAX_PAGE

DEFAULT_PAGE = 50


async def list_jobs(request: Request) -> JSONResponse:
    """`?type=http|script&paused=true|false&search=&ownerId=&limit=50&cursor=` → a page."""
    principal = await caller(request)
    job_type = request.query_params.get("type") or None
    if job_type is not None and job_type not in ("http", "script"):
        raise ValidationError(f"type must be http or script, not {shown(job_type)}", field="type")
    search = query_text(request, "search")
    job_filter = JobFilter(
        type=job_type,
        paused=query_bool(request, "paused"),
        search=search,
        owner_id=query_id(request, "ownerId"),
    )
    limit = query_int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE) or DEFAULT_PAGE
    jobs, has_more = await services_of(request).jobs.list_jobs(
        principal, filter=job_filter, first=limit, after_id=query_id(request, "cursor")
    )
    return JSONResponse(
        page_json([job_json(j) for j in jobs], has_more, jobs[-1].id if jobs else None)
    )


async def create_job(request: Request) -> JSONResponse:
    principal = await caller(request)
    data = await json_body(request)
    job = await services_of(request).jobs.create_job(principal, data, ip=client_ip(request))
    return JSONResponse(job_json(job), status_code=201, headers={"Location": f"/api/jobs/{job.id}"})


async def get_job(request: Request) -> JSONResponse:
    principal = await caller(request)
    job = await services_of(request).jobs.get_job(principal, path_id(request, "job"))
    return JSONResponse(job_json(job))


async def update_job(request: Request) -> JSONResponse:
    """Partial update: only the fields sent change (`type` cannot)."""
    principal = await caller(request)
    job_id = path_id(request, "job")
    data = await json_body(request)
    job = await services_of(request).jobs.update_job(principal, job_id, data, ip=client_ip(request))
    return JSONResponse(job_json(job))


async def delete_job(request: Request) -> Response:
    principal = await caller(request)
    job_id = path_id(request, "job")
    await services_of(request).jobs.delete_job(principal, job_id, ip=client_ip(request))
    return Response(status_code=204)


async def trigger_job(request: Request) -> JSONResponse:
    """Queue a run now (subject to the job's concurrency policy) → 201 with the run."""
    principal = await caller(request)
    job_id = path_id(request, "job")
    await object_body(request, required=False)
    run = await services_of(request).runs.trigger_job(principal, job_id, ip=client_ip(request))
    return JSONResponse(run_json(run), status_code=201, headers={"Location": f"/api/runs/{run.id}"})


async def pause_job(request: Request) -> JSONResponse:
    principal = await caller(request)
    job_id = path_id(request, "job")
    await object_body(request, required=False)
    job = await services_of(request).jobs.set_paused(principal, job_id, True, ip=client_ip(request))
    return JSONResponse(job_json(job))


async def resume_job(request: Request) -> JSONResponse:
    """`{"catchUp": true}` lets the misfire policy run what was missed while paused."""
    principal = await caller(request)
    job_id = path_id(request, "job")
    data = await object_body(request, required=False)
    catch_up = data.get("catchUp", False)
    if not isinstance(catch_up, bool):
        raise ValidationError(f"expected true or false, got {shown(catch_up)}", field="catchUp")
    job = await services_of(request).jobs.set_paused(
        principal, job_id, False, catch_up=catch_up, ip=client_ip(request)
    )
    return JSONResponse(job_json(job))
