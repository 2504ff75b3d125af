"""The API process: a Starlette app serving /api, /graphql, /metrics and the dashboard."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from app.config import Settings
from app.context import Services
from app.db.engine import Database
from app.rest.health import health

log = logging.getLogger("dts.server")


def api_routes() -> list[BaseRoute]:
    """Every route of the API process except the dashboard (mounted last, at /)."""
    routes: list[BaseRoute] = [Route("/api/health", health, methods=["GET"])]
    try:
        from app.rest.routes import rest_routes
    except ImportError:  # the REST layer is optional while it is being built
        pass
    else:
        routes += rest_routes()
    try:
        from app.graphql.app import graphql_routes
    except ImportError:
        pass
    else:
        routes += graphql_routes()
    return routes


def create_app(
    settings: Settings, *, db: Database | None = None, embedded_worker: bool = False
) -> Starlette:
    """Build the ASGI app. `db` may be given (tests, `dts up` sharing one engine)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        own_db = db is None
        database = db or Database(settings.database_url)
        services = Services.build(settings, database)
        app.state.db = database
        app.state.settings = settings
        app.state.services = services
        await services.start()
        worker_task: asyncio.Task[None] | None = None
        stop_worker = asyncio.Event()
        if embedded_worker:
            from worker.main import WorkerProcess

            embedded = WorkerProcess(settings, db=database, wake=services.wake_workers)
            worker_task = asyncio.create_task(embedded.run(stop_worker), name="embedded-worker")
        try:
            yield {}
        finally:
            if worker_task is not None:
                stop_worker.set()
                await worker_task
            await services.close()
            if own_db:
                await database.dispose()

    return Starlette(routes=api_routes(), lifespan=lifespan)
