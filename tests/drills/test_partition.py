"""Drill 3: partition a worker from PostgreSQL mid-run, recover its run elsewhere, heal.

The stale worker runs in its own network namespace and reaches PostgreSQL over a veth
link (see network.py); another worker (the rescuer) runs in the root namespace. We cut
the link while the stale worker runs a script:

- late result: the script finishes during the partition, so the stale worker holds a real
  result it cannot deliver. The rescuer recovers the run after the lease (`lost`, then
  retried). When the link comes back, the late result reaches the database and is refused
  by fencing; the run keeps the recovery's outcome.
- long partition: the script keeps running. The stale worker, unable to renew its lease,
  stops the script by itself before the lease runs out, instead of running it unobserved
  beside the recovery's retry.

Either way the stale worker then goes back to normal work once the link is healed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest

from tests.drills.conftest import LEASE, WorkerProc, log_lines, set_scene, tally, wait_for
from tests.drills.network import Partition

pytestmark = pytest.mark.drill


def stale_worker(partition: Partition, url: str) -> WorkerProc:
    return WorkerProc(partition.database_url(url), prefix=partition.prefix, lease=LEASE)


@pytest.fixture
def partition() -> Iterator[Partition]:
    link = Partition()
    try:
        link.setup()
        yield link
    finally:
        link.teardown()


async def test_late_result_after_a_partition_is_refused(
    pg, pg_settings, partition, tmp_path
) -> None:
    scene = await set_scene(pg, pg_settings, tmp_path, stale_worker(partition, pg.url))
    try:
        first = await scene.first_run_on_stale()
        partition.cut()
        cut_at = time.monotonic()
        await asyncio.sleep(0.3)
        scene.release.touch()  # the stale run now finishes inside the partition
        await scene.recovered()
        await scene.retry_succeeded()
        recovered_after = time.monotonic() - cut_at
        lines_at_recovery = len(await log_lines(pg, first.id))

        partition.restore()
        refusal = f"run {first.id}: result from worker {scene.stale_id} refused"
        await wait_for(lambda: asyncio.sleep(0, refusal in scene.stale.output()), timeout=45)
        refused_after = time.monotonic() - cut_at
        second = await scene.stale_resumes_work()
    finally:
        said = scene.close()
    print("\nstale worker said:\n" + said)

    history = {r.id: r for r in await scene.history()}
    lost = history[first.id]
    retry = next(r for r in history.values() if r.attempt == 2)
    # The run keeps the recovery's outcome; the late result and late log lines were refused.
    assert lost.status == "lost" and "stopped renewing" in (lost.error or ""), lost.error
    assert retry.status == "succeeded" and retry.worker_id != scene.stale_id
    assert len(await log_lines(pg, first.id)) == lines_at_recovery

    occurrences = [(scene.job_id, first.scheduled_for), (scene.job_id, second.scheduled_for)]
    result = tally("3 partition (late result)", list(history.values()), occurrences)
    result.notes["mode"] = partition.mode
    result.notes["recovered after"] = f"{recovered_after:.1f}s"
    result.notes["late result refused after"] = f"{refused_after:.1f}s"
    result.check()
    assert result.recovered == 1 and result.completed == 2


async def test_long_partition_stops_the_run_on_the_stale_worker(
    pg, pg_settings, partition, tmp_path
) -> None:
    scene = await set_scene(pg, pg_settings, tmp_path, stale_worker(partition, pg.url))
    try:
        first = await scene.first_run_on_stale()
        lines = await log_lines(pg, first.id)
        script_pid = int(next(line for line in lines if line.startswith("pid ")).split()[1])
        partition.cut()
        cut_at = time.monotonic()

        # Still partitioned: the stale worker gives the run up and kills its script.
        async def script_gone() -> bool:
            try:
                os.kill(script_pid, 0)
            except ProcessLookupError:
                return True
            return False

        await wait_for(script_gone, timeout=LEASE + 5)
        stopped_after = time.monotonic() - cut_at
        assert f"run {first.id}: lease not renewed" in scene.stale.output()

        await scene.recovered()
        scene.release.touch()  # only now: the retry (on the rescuer) may finish
        await scene.retry_succeeded()
        partition.restore()
        second = await scene.stale_resumes_work()
    finally:
        said = scene.close()
    print("\nstale worker said:\n" + said)
    assert f"run {first.id}: finished after losing its lease" in said

    history = {r.id: r for r in await scene.history()}
    assert history[first.id].status == "lost"
    occurrences = [(scene.job_id, first.scheduled_for), (scene.job_id, second.scheduled_for)]
    result = tally("3 partition (long)", list(history.values()), occurrences)
    result.notes["mode"] = partition.mode
    result.notes["stale run stopped after"] = f"{stopped_after:.1f}s (lease {LEASE:g}s)"
    result.check()
    assert result.recovered == 1 and result.completed == 2
