"""The API process: a Starlette app serving /api, /graphql, /metrics and the dashboard."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.config import Settings
from app.context import Services
from app.db.engine import Database
from app.domain.errors import DtsError
from app.graphql.app import graphql_routes
from app.metrics import Metrics, RequestMetricsMiddleware, metrics_endpoint
from app.rest.errors import handle_dts_error, handle_http_exception, handle_unexpected
from app.rest.health import health
from app.rest.routes import rest_routes
from app.web import WEB_DIST, dashboard_routes

log = logging.getLogger("dts.server")


def api_routes() -> list[BaseRoute]:
    """Every route of the API process except the dashboard (mounted last, at /)."""
    return [
        Route("/api/health", health, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *graphql_routes(),
        *rest_routes(),  # ends with the /api catch-all: JSON 404s for unknown API paths
    ]


def create_app(
    settings: Settings, *, db: Database | None = None, embedded_worker: bool = False
) -> Starlette:
    """Build the ASGI app. `db` may be given (tests, `dts up` sharing one engine)."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        own_db = db is None
        database = db or Database(settings.database_url)
        services = Services.build(settings, database)
        app.state.db = database
        app.state.settings = settings
        app.state.services = services
        await services.start()
        metrics.start(services)
        worker_task: asyncio.Task[None] | None = None
        stop_worker = asyncio.Event()
        if embedded_worker:
            from worker.main import WorkerProcess

            embedded = WorkerProcess(
                settings,
                db=database,
                wake=services.wake_workers,
                tick_wake=services.wake_scheduler,
            )
            worker_task = asyncio.create_task(embedded.run(stop_worker), name="embedded-worker")
        try:
            yield {}
        finally:
            if worker_task is not None:
                stop_worker.set()
                await worker_task
            await metrics.stop()
            await services.close()
            if own_db:
                await database.dispose()

    middleware = [Middleware(RequestMetricsMiddleware, metrics=metrics)]
    if settings.trusted_proxies:
        # Outermost, so every layer (sign-in limits, audit, metrics, websockets) sees the
        # client's address: the right-most X-Forwarded-For hop that is not a trusted proxy,
        # and only when the peer itself is one (DTS_TRUSTED_PROXIES, docs/operations.md).
        trusted = [str(network) for network in settings.trusted_proxy_networks]
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted))
    app = Starlette(
        # The dashboard last: its fallback answers any GET no API route took.
        routes=[*api_routes(), *dashboard_routes(settings.web_dist or WEB_DIST)],
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={
            DtsError: handle_dts_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
    )
    app.state.metrics = metrics
    return app
