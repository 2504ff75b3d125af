"""`/ping/<uuid>[/start|/fail|/<exit status>]`: heartbeats from jobs dts does not run.

Unauthenticated by design (a cron line calls `curl -fsS -m 10 …/ping/<uuid>`): the uuid
is the secret. An unknown uuid answers exactly like any other unknown path, so the
endpoint reveals nothing; pings are rate-limited per uuid and per sender address, and a
body (the run's output, kept as the ping's log) may be at most 100 KB.
"""

from __future__ import annotations

import math
import uuid

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.domain.errors import RateLimited
from app.domain.monitor_state import ping_kind
from app.rest.request import client_ip, services_of
from app.services import throttle
from app.services.monitors import MAX_PING_BODY, record_ping

METHODS = ["GET", "POST"]
WINDOW_SECONDS = 60.0


def routes() -> list[Route]:
    return [
        Route("/ping/{key}", ping, methods=METHODS),
        Route("/ping/{key}/{action}", ping, methods=METHODS),
    ]


def not_found() -> Response:
    """What Starlette answers for any unknown path outside /api."""
    return PlainTextResponse("Not Found", status_code=404)


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > MAX_PING_BODY:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PING_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _action(action: str | None) -> tuple[str, int | None] | None:
    """(kind, exit status) for the path's last part; None when it is not a ping action."""
    if action is None:
        return "success", None
    if action in ("start", "fail"):
        return action, None
    if action.isdigit() and len(action) <= 3 and int(action) <= 255:
        status = int(action)
        return ping_kind(status, "success"), status
    return None


async def ping(request: Request) -> Response:
    response, kind = await _ping(request)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.ping(kind)
    return response


async def _ping(request: Request) -> tuple[Response, str]:
    """The answer, and what to count: the ping's kind, or why it was refused."""
    services = services_of(request)
    try:
        key = str(uuid.UUID(request.path_params["key"]))
    except ValueError:
        return not_found(), "not_found"
    action = _action(request.path_params.get("action"))
    if action is None:
        return not_found(), "not_found"
    kind, exit_status = action
    now = services.clock()
    settings = services.settings
    ip = client_ip(request) or "unknown"
    try:
        await throttle.hit(
            services.db,
            throttle.make_key("ping:ip", ip),
            limit=settings.ping_ip_limit,
            window_seconds=WINDOW_SECONDS,
            block_seconds=WINDOW_SECONDS,
            now=now,
            message="too many pings from this address",
        )
        await throttle.hit(
            services.db,
            throttle.make_key("ping:key", key),
            limit=settings.ping_key_limit,
            window_seconds=WINDOW_SECONDS,
            block_seconds=WINDOW_SECONDS,
            now=now,
            message="too many pings for this monitor",
        )
    except RateLimited as refused:
        return PlainTextResponse(
            refused.message + "\n",
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(refused.retry_after)))},
        ), "rate_limited"
    try:
        body = await _body(request) if request.method == "POST" else b""
    except _TooLarge:
        return PlainTextResponse(
            f"the ping body is over {MAX_PING_BODY // 1024} KB\n", status_code=413
        ), "too_large"
    found = await record_ping(
        services.db,
        key,
        kind,
        now=now,
        exit_status=exit_status,
        body=body,
        remote_addr=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    if not found:
        return not_found(), "not_found"
    return PlainTextResponse("OK"), kind
