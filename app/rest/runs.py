"""`/api/runs`: run history, one run, its log lines, cancel and retry."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.db.models import RUN_STATUSES
from app.domain.errors import ValidationError
from app.rest.request import (
    caller,
    client_ip,
    object_body,
    path_id,
    query_id,
    query_instant,
    query_int,
    services_of,
)
from app.rest.shapes import log_line_json, page_json, run_json
from app.services.runs import MAX_PAGE

DEFAULT_PAGE = 50
MAX_LOG_PAGE = 5000


async def list_runs(request: Request) -> JSONResponse:
    """`?jobId=&status=failed,lost&since=&until=&limit=50&cursor=` → a page, newest first."""
    principal = await caller(request)
    statuses = [
        s.strip()
        for value in request.query_params.getlist("status")
        for s in value.split(",")
        if s.strip()
    ]
    for status in statuses:
        if status not in RUN_STATUSES:
            raise ValidationError(
                f"unknown status {status[:40]!r}; expected one of {', '.join(RUN_STATUSES)}",
                field="status",
            )
    limit = query_int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE) or DEFAULT_PAGE
    runs, has_more = await services_of(request).runs.list_runs(
        principal,
        job_id=query_id(request, "jobId"),
        statuses=statuses or None,
        since=query_instant(request, "since"),
        until=query_instant(request, "until"),
        first=limit,
        after_id=query_id(request, "cursor"),
    )
    items = [run_json(r, full_output=False) for r in runs]
    return JSONResponse(page_json(items, has_more, runs[-1].id if runs else None))


async def get_run(request: Request) -> JSONResponse:
    principal = await caller(request)
    run = await services_of(request).runs.get_run(principal, path_id(request, "run"))
    return JSONResponse(run_json(run))


async def run_logs(request: Request) -> JSONResponse:
    """`?afterSeq=0&limit=500` → `{runId, status, items: [{seq, ts, stream, text}], lastSeq}`.

    Poll with the `lastSeq` of the previous answer as `afterSeq` until `status` is final.
    """
    principal = await caller(request)
    run_id = path_id(request, "run")
    after_seq = query_int(request, "afterSeq", 0, 0, 2**31 - 1) or 0
    limit = query_int(request, "limit", 500, 1, MAX_LOG_PAGE) or 500
    services = services_of(request)
    run = await services.runs.get_run(principal, run_id)
    lines = await services.runs.logs(principal, run_id, after_seq=after_seq, limit=limit)
    return JSONResponse(
        {
            "runId": run.id,
            "status": run.status,
            "items": [log_line_json(line) for line in lines],
            "lastSeq": lines[-1].seq if lines else after_seq,
            "logTruncated": run.log_truncated,
        }
    )


async def cancel_run(request: Request) -> JSONResponse:
    """A queued run is cancelled at once; a running one is stopped by its worker within seconds."""
    principal = await caller(request)
    run_id = path_id(request, "run")
    await object_body(request, required=False)
    run = await services_of(request).runs.cancel_run(principal, run_id, ip=client_ip(request))
    return JSONResponse(run_json(run))


async def retry_run(request: Request) -> JSONResponse:
    """Queue another attempt of a finished run's occurrence → 201 with the new run."""
    principal = await caller(request)
    run_id = path_id(request, "run")
    await object_body(request, required=False)
    run = await services_of(request).runs.retry_run(principal, run_id, ip=client_ip(request))
    return JSONResponse(run_json(run), status_code=201, headers={"Location": f"/api/runs/{run.id}"})
