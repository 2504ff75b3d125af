"""Drill 4: SIGSTOP a worker for longer than its lease, then SIGCONT it.

A paused process (a long GC pause, a VM stall, a laptop lid) is a partition in time: the
rest of the system sees the same silence. The paused worker's script finishes while it is
stopped; the rescuer recovers the run after the lease; on SIGCONT the paused worker learns
it lost the lease, its late result is refused, and it resumes normal work.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.drills.conftest import LEASE, WorkerProc, log_lines, set_scene, tally, wait_for

pytestmark = pytest.mark.drill

REFUSALS = ("refused: it no longer holds the lease", "finished after losing its lease")


async def test_paused_worker_is_fenced_then_resumes(pg, pg_settings, tmp_path) -> None:
    scene = await set_scene(pg, pg_settings, tmp_path, WorkerProc(pg.url, lease=LEASE))
    try:
        first = await scene.first_run_on_stale()
        scene.stale.signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        scene.release.touch()  # its script is not paused (own session): it finishes now
        await scene.recovered()
        await scene.retry_succeeded()
        recovered_after = time.monotonic() - stopped_at
        lines_at_recovery = len(await log_lines(pg, first.id))

        scene.stale.signal(signal.SIGCONT)
        paused_for = time.monotonic() - stopped_at

        def refused() -> str | None:
            said = scene.stale.output()
            return next((r for r in REFUSALS if f"run {first.id}: " in said and r in said), None)

        how = await wait_for(lambda: asyncio.sleep(0, refused()), timeout=30)
        second = await scene.stale_resumes_work()
    finally:
        said = scene.close()
    print("\npaused worker said:\n" + said)

    history = {r.id: r for r in await scene.history()}
    assert history[first.id].status == "lost", history[first.id].status
    assert len(await log_lines(pg, first.id)) == lines_at_recovery
    occurrences = [(scene.job_id, first.scheduled_for), (scene.job_id, second.scheduled_for)]
    result = tally("4 sigstop", list(history.values()), occurrences)
    result.notes["paused for"] = f"{paused_for:.1f}s (lease {LEASE:g}s)"
    result.notes["recovered after"] = f"{recovered_after:.1f}s"
    result.notes["late result"] = how
    result.check()
    assert result.recovered == 1 and result.completed == 2
