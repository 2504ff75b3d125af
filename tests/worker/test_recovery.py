"""Crash recovery and shutdown with real `dts worker` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime

from sqlalchemy import select

from app.db.models import Worker
from tests.factories import add_user, script_job, services
from tests.live import DtsProcess, dts_env
from tests.worker.conftest import job_runs, run_log, running_worker, wait_for

RARELY = "0 0 1 1 *"
LOOP = "import time\nfor i in range(40):\n    print('step', i, flush=True)\n    time.sleep(0.25)\n"


async def test_sigkilled_worker_run_is_recovered_by_another_worker(
    db, worker_settings, database_url
) -> None:
    admin = await add_user(db, "admin@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    job = await jobs.create_job(
        admin,
        script_job(
            cron=RARELY,
            retry={"maxAttempts": 2, "initialDelay": 0.1},
            script={"command": "python3", "args": ["-c", LOOP], "cwd": "."},
        ),
    )
    doomed = DtsProcess(
        ["worker"], dts_env(database_url, DTS_LEASE_SECONDS="3", DTS_POLL_INTERVAL="0.05")
    )
    try:
        first = await runs.trigger_job(admin, job.id)

        async def running_with_output():
            [run] = await job_runs(db, job.id)
            return run.status == "running" and len(await run_log(db, run.id)) >= 2

        await wait_for(running_with_output, timeout=30)
        os.kill(doomed.pid, signal.SIGKILL)
        killed_at = time.monotonic()
    finally:
        doomed.stop()

    async with running_worker(worker_settings):

        async def recovered():
            history = await job_runs(db, job.id)
            return history if len(history) == 2 and history[1].status == "succeeded" else None

        history = await wait_for(recovered, timeout=40)
    lost, retry = history
    assert (
        lost.id == first.id and lost.status == "lost" and "stopped renewing" in (lost.error or "")
    )
    assert lost.finished_at is not None
    assert retry.attempt == 2 and retry.root_run_id == first.id and retry.trigger == "retry"
    # Recovered within the lease (3 s) plus the recovery sweep interval and the retry's run.
    assert time.monotonic() - killed_at < 3 + 1 + 15
    assert all(r.status not in ("running", "queued") for r in await job_runs(db, job.id))


async def test_sigterm_lets_running_work_finish_and_exits_zero(
    db, worker_settings, database_url
) -> None:
    admin = await add_user(db, "admin@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    code = "import time\nprint('start', flush=True)\ntime.sleep(1.5)\nprint('end', flush=True)\n"
    job = await jobs.create_job(
        admin, script_job(cron=RARELY, script={"command": "python3", "args": ["-c", code]})
    )
    worker = DtsProcess(["worker"], dts_env(database_url, DTS_POLL_INTERVAL="0.05"))
    try:
        run = await runs.trigger_job(admin, job.id)

        async def started():
            [current] = await job_runs(db, job.id)
            return current.status == "running"

        await wait_for(started, timeout=30)
        worker.proc.send_signal(signal.SIGTERM)
        code_ = await asyncio.to_thread(worker.proc.wait, 30)
    finally:
        output = worker.stop()
    assert code_ == 0, output
    [done] = await job_runs(db, job.id)
    assert done.id == run.id and done.status == "succeeded"
    assert await run_log(db, run.id, "stdout") == ["start", "end"]
    async with db.session() as session:
        row = await session.scalar(select(Worker))
    assert row is not None and row.stopped_at is not None


async def test_shutdown_grace_exceeded_hands_the_run_back(db, worker_settings) -> None:
    admin = await add_user(db, "admin@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    job = await jobs.create_job(
        admin, script_job(cron=RARELY, script={"command": "sleep", "args": ["30"]})
    )
    async with running_worker(worker_settings, shutdown_grace_seconds=0.5):
        run = await runs.trigger_job(admin, job.id)

        async def started():
            [current] = await job_runs(db, job.id)
            return current.status == "running"

        await wait_for(started, timeout=10)
    [again] = await job_runs(db, job.id)
    assert again.id == run.id and again.status == "queued" and again.worker_id is None


def test_worker_process_is_not_dumpable_but_its_scripts_are() -> None:
    """Scripts run as the worker's user; they must not read its secrets via /proc."""
    import subprocess
    import sys

    code = (
        "import ctypes, subprocess\n"
        "from worker.main import make_non_dumpable\n"
        "assert make_non_dumpable()\n"
        "libc = ctypes.CDLL(None)\n"
        "print(libc.prctl(3, 0, 0, 0, 0))\n"  # PR_GET_DUMPABLE
        "print(subprocess.run(['python3', '-c', 'import ctypes; "
        "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))'], capture_output=True, text=True).stdout)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "1"]
