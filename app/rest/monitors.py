"""`/api/monitors`: heartbeat monitors (list, create, read, change, delete, pause, resume,
pings), over the same `MonitorService` as GraphQL."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.db.models import Monitor, MonitorPing
from app.rest.request import (
    caller,
    json_body,
    object_body,
    path_id,
    query_id,
    query_int,
    services_of,
)
from app.rest.shapes import page_json
from app.services.monitors import MAX_PAGE, PINGS_KEPT, MonitorService

DEFAULT_PAGE = 50


def _service(request: Request) -> MonitorService:
    services = services_of(request)
    return MonitorService(services.db, clock=services.clock)


def ping_url(request: Request, monitor: Monitor) -> str:
    return f"{services_of(request).settings.app_url.rstrip('/')}/ping/{monitor.ping_key}"


def _instant(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def monitor_json(request: Request, monitor: Monitor) -> dict[str, Any]:
    return {
        "id": monitor.id,
        "ownerId": monitor.owner_id,
        "name": monitor.name,
        "pingUrl": ping_url(request, monitor),
        "cron": monitor.cron,
        "timezone": monitor.timezone,
        "periodSeconds": monitor.period_seconds,
        "graceSeconds": monitor.grace_seconds,
        "maxDurationSeconds": monitor.max_duration_seconds,
        "state": monitor.state,
        "ranTooLong": monitor.ran_too_long,
        "paused": monitor.paused,
        "lastPingAt": _instant(monitor.last_ping_at),
        "lastStartAt": _instant(monitor.last_start_at),
        "nextExpectedAt": _instant(monitor.next_expected_at),
        "createdAt": _instant(monitor.created_at),
        "updatedAt": _instant(monitor.updated_at),
    }


def ping_json(ping: MonitorPing) -> dict[str, Any]:
    return {
        "id": ping.id,
        "at": ping.at.isoformat(),
        "kind": ping.kind,
        "exitStatus": ping.exit_status,
        "body": ping.body,
        "remoteAddr": ping.remote_addr,
        "userAgent": ping.user_agent,
    }


async def list_monitors(request: Request) -> JSONResponse:
    principal = await caller(request)
    limit = query_int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE) or DEFAULT_PAGE
    monitors, has_more = await _service(request).list_monitors(
        principal, first=limit, after_id=query_id(request, "cursor")
    )
    items = [monitor_json(request, m) for m in monitors]
    return JSONResponse(page_json(items, has_more, monitors[-1].id if monitors else None))


async def create_monitor(request: Request) -> JSONResponse:
    principal = await caller(request)
    monitor = await _service(request).create_monitor(principal, await json_body(request))
    return JSONResponse(
        monitor_json(request, monitor),
        status_code=201,
        headers={"Location": f"/api/monitors/{monitor.id}"},
    )


async def get_monitor(request: Request) -> JSONResponse:
    principal = await caller(request)
    monitor = await _service(request).get_monitor(principal, path_id(request, "monitor"))
    return JSONResponse(monitor_json(request, monitor))


async def update_monitor(request: Request) -> JSONResponse:
    principal = await caller(request)
    monitor_id = path_id(request, "monitor")
    data = await json_body(request)
    monitor = await _service(request).update_monitor(principal, monitor_id, data)
    return JSONResponse(monitor_json(request, monitor))


async def delete_monitor(request: Request) -> Response:
    principal = await caller(request)
    await _service(request).delete_monitor(principal, path_id(request, "monitor"))
    return Response(status_code=204)


async def _set_paused(request: Request, paused: bool) -> JSONResponse:
    principal = await caller(request)
    monitor_id = path_id(request, "monitor")
    await object_body(request, required=False)
    monitor = await _service(request).set_paused(principal, monitor_id, paused)
    return JSONResponse(monitor_json(request, monitor))


async def pause_monitor(request: Request) -> JSONResponse:
    return await _set_paused(request, True)


async def resume_monitor(request: Request) -> JSONResponse:
    return await _set_paused(request, False)


async def list_pings(request: Request) -> JSONResponse:
    """`?limit=` (1-100, default 20): the newest pings first."""
    principal = await caller(request)
    monitor_id = path_id(request, "monitor")
    limit = query_int(request, "limit", 20, 1, PINGS_KEPT) or 20
    pings = await _service(request).pings(principal, monitor_id, limit)
    return JSONResponse({"items": [ping_json(p) for p in pings]})
