"""Every REST route under /api (the brief's API, extended), in one table.

`app/rest/openapi.py` describes each of these; a test keeps the two in step. Anything else
under /api answers the REST error shape (404, or 405 with `Allow`), never the dashboard.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Route

from app.rest import alerts, auth, inspector, jobs, monitors, openapi, ping, runs, tokens
from app.rest.errors import error_response

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def endpoints() -> list[Route]:
    """The documented endpoints (each one is in the OpenAPI document)."""
    return [
        Route("/api/auth/register", auth.register, methods=["POST"]),
        Route("/api/auth/login", auth.login, methods=["POST"]),
        Route("/api/auth/refresh", auth.refresh, methods=["POST"]),
        Route("/api/auth/logout", auth.logout, methods=["POST"]),
        Route("/api/auth/forgot", auth.forgot, methods=["POST"]),
        Route("/api/auth/reset", auth.reset, methods=["POST"]),
        Route("/api/auth/me", auth.me, methods=["GET"]),
        Route("/api/jobs", jobs.list_jobs, methods=["GET"]),
        Route("/api/jobs", jobs.create_job, methods=["POST"]),
        Route("/api/jobs/{id}", jobs.get_job, methods=["GET"]),
        Route("/api/jobs/{id}", jobs.update_job, methods=["PATCH"]),
        Route("/api/jobs/{id}", jobs.delete_job, methods=["DELETE"]),
        Route("/api/jobs/{id}/trigger", jobs.trigger_job, methods=["POST"]),
        Route("/api/jobs/{id}/pause", jobs.pause_job, methods=["POST"]),
        Route("/api/jobs/{id}/resume", jobs.resume_job, methods=["POST"]),
        Route("/api/runs", runs.list_runs, methods=["GET"]),
        Route("/api/runs/{id}", runs.get_run, methods=["GET"]),
        Route("/api/runs/{id}/logs", runs.run_logs, methods=["GET"]),
        Route("/api/runs/{id}/cancel", runs.cancel_run, methods=["POST"]),
        Route("/api/runs/{id}/retry", runs.retry_run, methods=["POST"]),
        Route("/api/inspector/preview", inspector.preview_schedule, methods=["POST"]),
        Route("/api/inspector/job/{id}", inspector.preview_stored_job, methods=["GET"]),
        Route("/api/tokens", tokens.list_tokens, methods=["GET"]),
        Route("/api/tokens", tokens.create_token, methods=["POST"]),
        Route("/api/tokens/{id}", tokens.revoke_token, methods=["DELETE"]),
        Route("/api/monitors", monitors.list_monitors, methods=["GET"]),
        Route("/api/monitors", monitors.create_monitor, methods=["POST"]),
        Route("/api/monitors/{id}", monitors.get_monitor, methods=["GET"]),
        Route("/api/monitors/{id}", monitors.update_monitor, methods=["PATCH"]),
        Route("/api/monitors/{id}", monitors.delete_monitor, methods=["DELETE"]),
        Route("/api/monitors/{id}/pause", monitors.pause_monitor, methods=["POST"]),
        Route("/api/monitors/{id}/resume", monitors.resume_monitor, methods=["POST"]),
        Route("/api/monitors/{id}/pings", monitors.list_pings, methods=["GET"]),
        *alerts.routes(),
        Route("/api/openapi.json", openapi.openapi_json, methods=["GET"]),
    ]


def _allowed_methods(request: Request) -> set[str]:
    allowed: set[str] = set()
    for route in endpoints():
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and route.methods:
            allowed |= route.methods
    return allowed


async def unknown_api_path(request: Request) -> JSONResponse:
    allowed = _allowed_methods(request)
    if allowed:
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}",
            headers={"Allow": ", ".join(sorted(allowed))},
        )
    return error_response(
        404,
        "not_found",
        f"no such endpoint: {request.method} {request.url.path[:200]}; see GET /api/openapi.json",
    )


def rest_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = list(endpoints())
    routes += ping.routes()  # heartbeats: outside /api, unauthenticated (app/rest/ping.py)
    routes.append(Route("/api/{path:path}", unknown_api_path, methods=ALL_METHODS))
    return routes
