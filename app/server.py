"""The API process: a Starlette app serving /api, /graphql, /metrics and the dashboard."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from app.config import Settings
from app.db.engine import Database
from app.rest.health import health

log = logging.getLogger("dts.server")


def create_app(
    settings: Settings, *, db: Database | None = None, embedded_worker: bool = False
) -> Starlette:
    """Build the ASGI app. `db` may be given (tests, `dts up` sharing one engine)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        own_db = db is None
        database = db or Database(settings.database_url)
        app.state.db = database
        app.state.settings = settings
        app.state.wake_workers = asyncio.Event()
        worker_task: asyncio.Task[None] | None = None
        stop_worker = asyncio.Event()
        if embedded_worker:
            from worker.main import WorkerProcess

            embedded = WorkerProcess(settings, db=database, wake=app.state.wake_workers)
            worker_task = asyncio.create_task(embedded.run(stop_worker), name="embedded-worker")
        try:
            yield {}
        finally:
            if worker_task is not None:
                stop_worker.set()
                await worker_task
            if own_db:
                await database.dispose()

    routes = [Route("/api/health", health, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan)
