"""Worker test fixtures: a real target server on loopback and in-process workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import Run, RunLog
from app.db.types import utcnow
from tests.executors.support import SeenRequest, TargetServer
from worker.main import WorkerProcess


class FlakyTarget(TargetServer):
    """Adds routes whose answer depends on how often they were called."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, list[float]] = {}

    async def route(self, seen: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        path = seen.path.split("?", 1)[0]
        hits = self.calls.setdefault(path, [])
        hits.append(time.monotonic())
        if path == "/fail-twice":
            return (500, {}, b"not yet") if len(hits) <= 2 else (200, {}, b"finally")
        if path == "/limited":
            return (429, {"Retry-After": "1"}, b"") if len(hits) == 1 else (200, {}, b"ok")
        if path == "/always-500":
            return 500, {}, b"down"
        if path == "/nul":  # a NUL byte in a text body
            return 200, {"Content-Type": "text/plain"}, b"before\x00after\n"
        if path == "/utf7-nul":  # no NUL byte on the wire, but one once decoded
            return 200, {"Content-Type": "text/plain; charset=utf-7"}, b"x+AAA-y\n"
        return await super().route(seen)


@pytest.fixture
async def target() -> AsyncIterator[FlakyTarget]:
    server = FlakyTarget()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        for handler in server.handlers:
            handler.cancel()
        listener.close()
        await listener.wait_closed()


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "http_allow_private": True,
            "poll_interval": 0.05,
            "lease_seconds": 3.0,
            "shutdown_grace_seconds": 2.0,
        }
    )


@asynccontextmanager
async def running_worker(
    settings: Settings, clock: Callable[[], datetime] = utcnow, **overrides: Any
) -> AsyncIterator[WorkerProcess]:
    db = Database(settings.database_url)
    worker = WorkerProcess(settings.model_copy(update=overrides), db=db, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await db.dispose()


async def wait_for(
    condition: Callable[[], Awaitable[Any]], timeout: float = 15, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


async def job_runs(db: Database, job_id: int) -> list[Run]:
    async with db.session() as session:
        rows = await session.scalars(select(Run).where(Run.job_id == job_id).order_by(Run.id))
        return list(rows.all())


async def run_log(db: Database, run_id: int, stream: str | None = None) -> list[str]:
    query = select(RunLog.text).where(RunLog.run_id == run_id).order_by(RunLog.seq)
    if stream is not None:
        query = query.where(RunLog.stream == stream)
    async with db.session() as session:
        return list((await session.scalars(query)).all())
