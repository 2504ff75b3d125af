"""Drill 5: fill the log cap and the output cap; the run completes, truncation is marked.

A script that prints without end must not block on a full pipe, flood the database, or
take the worker down: the log keeps the first lines and a marker, the run finishes with its
exit code, and the next run of any job is logged in full. On both engines.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.drills.conftest import log_lines, runs_of, tally, wait_for
from tests.factories import add_user, script_job, services
from tests.worker.conftest import running_worker

pytestmark = pytest.mark.drill

RARELY = "0 0 1 1 *"
MAX_LINES = 20
MAX_BYTES = 2048
FLOOD = "for i in range(200_000):\n    print('line', i)\n"  # ~2.4 MB, far past both caps
WIDE = "for i in range(10):\n    print(str(i) * 1000)\n"  # 10 KB in 10 lines: the byte cap
TIDY = "print('one')\nprint('two')\n"


def python(code: str) -> dict[str, object]:
    return {"command": "python3", "args": ["-c", code]}


async def test_full_caps_truncate_and_nothing_else_breaks(db, worker_settings) -> None:
    admin = await add_user(db, "drill@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    flood = await jobs.create_job(admin, script_job("flood", RARELY, script=python(FLOOD)))
    wide = await jobs.create_job(admin, script_job("wide", RARELY, script=python(WIDE)))
    tidy = await jobs.create_job(admin, script_job("tidy", RARELY, script=python(TIDY)))
    job_ids = [flood.id, wide.id, tidy.id]

    async with running_worker(worker_settings, log_max_lines=MAX_LINES, output_max_bytes=MAX_BYTES):
        triggered = [await runs.trigger_job(admin, job_id) for job_id in job_ids]
        after = None

        async def all_finished() -> bool:
            current = await runs_of(db, job_ids)
            return len(current) == len(job_ids) + (after is not None) and all(
                r.finished_at is not None for r in current
            )

        await wait_for(all_finished, timeout=60)
        # The worker is still fine: one more run, logged in full.
        after = await runs.trigger_job(admin, tidy.id)
        await wait_for(all_finished, timeout=30)

    history = {r.id: r for r in await runs_of(db, job_ids)}
    flooded, widened, tidied, again = (history[r.id] for r in [*triggered, after])

    flood_log = await log_lines(db, flooded.id)
    assert flooded.status == "succeeded" and flooded.exit_code == 0, flooded.error
    assert flooded.log_truncated and flooded.log_lines == MAX_LINES + 1
    assert len(flood_log) == MAX_LINES + 1
    assert flood_log[-1] == f"[log truncated after {MAX_LINES} lines]"
    assert flooded.output is not None and len(flooded.output) <= 1000  # the summary is capped

    wide_log = await log_lines(db, widened.id)
    assert widened.status == "succeeded" and widened.exit_code == 0, widened.error
    assert any(line.startswith("output truncated after 2002 bytes") for line in wide_log)
    assert widened.log_truncated  # the byte cap marks the run too, not only the line cap
    assert sum(line.startswith(("0" * 10, "1" * 10)) for line in wide_log) == 2
    assert not any(line.startswith("2" * 10) for line in wide_log)

    for run in (tidied, again):
        tidy_log = await log_lines(db, run.id)
        assert run.status == "succeeded" and not run.log_truncated
        assert "one" in tidy_log and "two" in tidy_log and "exited with code 0" in tidy_log[-1]

    occurrences = [(r.job_id, r.scheduled_for) for r in (*triggered, after)]
    result = tally(f"5 caps ({db.dialect})", list(history.values()), occurrences)
    result.notes["flood log lines kept"] = f"{len(flood_log)} of ~200,000"
    result.notes["wide output kept"] = "2002 of 10,010 bytes"
    result.notes["log_truncated (line cap / byte cap)"] = (
        f"{flooded.log_truncated} / {widened.log_truncated}"
    )
    result.check()
    assert result.completed == 4
