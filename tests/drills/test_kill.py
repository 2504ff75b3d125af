"""Drill 1: SIGKILL a worker mid-run; the other worker recovers its runs after the lease.

(tests/worker/test_recovery.py checks the single-run case in detail; this drill kills a
worker holding several runs while another keeps working, and counts every occurrence.)
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime

import pytest

from tests.drills.conftest import WorkerProc, held_script, runs_of, tally, wait_for
from tests.factories import add_user, script_job, services

pytestmark = pytest.mark.drill

RARELY = "0 0 1 1 *"


async def test_sigkill_mid_run_loses_nothing(pg, postgres_url, pg_settings, tmp_path) -> None:
    admin = await add_user(pg, "drill@example.com")
    jobs, runs = services(pg, pg_settings, lambda: datetime.now(UTC))
    release = tmp_path / "release"
    job = await jobs.create_job(
        admin,
        script_job(
            cron=RARELY,
            retry={"maxAttempts": 3, "initialDelay": 0.1},
            script=held_script(release),
        ),
    )
    doomed = WorkerProc(postgres_url, DTS_WORKER_CONCURRENCY="4")
    survivor: WorkerProc | None = None
    try:
        doomed_id = await doomed.worker_id(pg)
        triggered = [await runs.trigger_job(admin, job.id) for _ in range(4)]

        async def doomed_holds_all() -> bool:
            current = await runs_of(pg, [job.id])
            return sum(r.status == "running" and r.worker_id == doomed_id for r in current) == 4

        await wait_for(doomed_holds_all, timeout=30)
        survivor = WorkerProc(postgres_url, DTS_WORKER_CONCURRENCY="4")
        await survivor.worker_id(pg)
        doomed.signal(signal.SIGKILL)
        # Lets the retries finish, and the orphans of the killed worker (scripts run in
        # their own sessions, so a SIGKILLed worker leaves them running) exit too.
        release.touch()

        async def all_done() -> bool:
            current = await runs_of(pg, [job.id])
            return all(r.status not in ("queued", "running") for r in current) and sum(
                r.status == "succeeded" for r in current
            ) == len(triggered)

        await wait_for(all_done, timeout=45)
    finally:
        doomed.stop()
        if survivor is not None:
            survivor.stop()

    history = await runs_of(pg, [job.id])
    result = tally("1 sigkill", history, [(job.id, r.scheduled_for) for r in triggered])
    result.notes["killed holding"] = 4
    result.check()
    assert result.recovered == 4 and result.completed == 4
    assert all(r.worker_id != doomed_id for r in history if r.status == "succeeded")
