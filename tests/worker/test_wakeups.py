"""A scheduler asleep until its next due job wakes when a job due sooner appears, rather
than at its next poll: through NOTIFY dts_jobs on PostgreSQL, and through the in-process
hook that `dts up` wires between its API and its embedded worker (any engine)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from app.db.engine import Database
from app.services.jobs import JobService
from app.services.secrets import SecretBox
from tests.factories import add_user, http_job, services
from tests.worker.conftest import job_runs, wait_for
from worker.main import WorkerProcess

POLL = 30.0  # far longer than the test waits: only a wake-up can make it pass


async def _first_run_after_creating_a_job(db, settings, target, *, hook: bool) -> float:
    owner = await add_user(db, "ada@example.com")
    tick_wake = asyncio.Event()
    jobs, _ = services(db, settings, lambda: datetime.now(UTC))
    if hook:
        jobs = JobService(
            db,
            SecretBox(settings),
            script_root=settings.script_root,
            allow_private=True,
            clock=lambda: datetime.now(UTC),
            on_scheduled=tick_wake.set,
        )
    worker_db = Database(settings.database_url)
    worker = WorkerProcess(
        settings.model_copy(update={"poll_interval": POLL}),
        db=worker_db,
        tick_wake=tick_wake,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(1.0)  # registered, first tick done: now asleep for POLL
        created = time.monotonic()
        job = await jobs.create_job(
            owner,
            http_job(
                cron="* * * * * *",
                http={"method": "GET", "url": f"http://127.0.0.1:{target.port}/"},
            ),
        )
        await wait_for(lambda: job_runs(db, job.id), timeout=10)
        return time.monotonic() - created
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await worker_db.dispose()


@pytest.mark.parametrize("engine_name", ["postgres"])
async def test_notify_wakes_a_sleeping_scheduler(db, worker_settings, target) -> None:
    waited = await _first_run_after_creating_a_job(db, worker_settings, target, hook=False)
    assert waited < 3.0  # due within a second of creation; the poll would be 30 s


async def test_in_process_hook_wakes_a_sleeping_scheduler(db, worker_settings, target) -> None:
    waited = await _first_run_after_creating_a_job(db, worker_settings, target, hook=True)
    assert waited < 3.0
