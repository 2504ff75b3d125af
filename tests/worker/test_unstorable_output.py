"""Output a database cannot store (a NUL byte, invalid Unicode) is escaped, said so in the
log, and can never take other runs of the same batch down with it (issue 12, item 4: on
PostgreSQL one NUL made every run of the batch end `lost` and run again)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.db.models import Event, Run
from tests.factories import add_user, http_job, script_job, services
from tests.worker.conftest import job_runs, run_log, running_worker, wait_for
from worker.claims import Outcome, claim_runs, register_worker
from worker.logs import ESCAPED_NOTE, Recorder, is_data_error, storable_text

RARELY = "0 0 1 1 *"
FINAL = {"succeeded", "failed", "timed_out", "cancelled", "lost"}
NO_RETRY = {"maxAttempts": 1}


def test_storable_text_escapes_only_what_cannot_be_stored() -> None:
    plain = "héllo \t wörld ✓ \x01"
    assert storable_text(plain) is plain
    assert storable_text("a\x00b") == "a\\x00b"
    assert storable_text("lone \ud800 surrogate") == "lone \\ud800 surrogate"


async def _all_final(db: Database, job_ids: list[int]) -> list[Run] | None:
    runs = [run for job_id in job_ids for run in await job_runs(db, job_id)]
    if len(runs) >= len(job_ids) and all(run.status in FINAL for run in runs):
        return runs
    return None


async def test_nul_in_script_and_http_output_is_escaped_and_the_batch_survives(
    db, worker_settings, target
) -> None:
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    printer = (
        "import sys\n"
        "sys.stdout.write('before\\0after\\n')\n"
        "sys.stderr.write('err\\0or\\n')\n"
        "sys.stdout.flush(); sys.stderr.flush()\n"
    )
    nul_script = await jobs.create_job(
        owner,
        script_job(
            name="nul-script",
            cron=RARELY,
            retry=NO_RETRY,
            script={"command": "python3", "args": ["-c", printer], "cwd": "."},
        ),
    )
    nul_http = await jobs.create_job(
        owner,
        http_job(name="nul-http", cron=RARELY, http={"method": "GET", "url": target.url("/nul")}),
    )
    utf7 = await jobs.create_job(
        owner,
        http_job(name="utf7", cron=RARELY, http={"method": "GET", "url": target.url("/utf7-nul")}),
    )
    others = [
        await jobs.create_job(
            owner,
            http_job(name=f"ok-{i}", cron=RARELY, http={"method": "GET", "url": target.url("/ok")}),
        )
        for i in range(6)
    ]
    ids = [nul_script.id, nul_http.id, utf7.id, *(job.id for job in others)]
    async with running_worker(worker_settings):
        for job_id in ids:  # all at once: their results share the recorder's batches
            await runs.trigger_job(owner, job_id)
        done = await wait_for(lambda: _all_final(db, ids), timeout=30)
        await asyncio.sleep(0.5)  # nothing is retried or recovered afterwards
        assert len([run for job_id in ids for run in await job_runs(db, job_id)]) == len(ids)

    by_job = {run.job_id: run for run in done}
    assert {run.status for run in done} == {"succeeded"}, [(r.job_id, r.status) for r in done]

    script_run = by_job[nul_script.id]
    assert script_run.output is not None and "\x00" not in script_run.output
    assert "before\\x00after" in script_run.output
    assert await run_log(db, script_run.id, "stdout") == ["before\\x00after"]
    assert await run_log(db, script_run.id, "stderr") == ["err\\x00or"]
    assert (await run_log(db, script_run.id, "system")).count(ESCAPED_NOTE) == 1

    http_run = by_job[nul_http.id]
    assert http_run.output == "before\\x00after"
    assert await run_log(db, http_run.id, "stdout") == ["before\\x00after"]
    assert ESCAPED_NOTE in await run_log(db, http_run.id, "system")

    utf7_run = by_job[utf7.id]
    assert await run_log(db, utf7_run.id, "stdout") == ["x\\x00y"]
    assert ESCAPED_NOTE in await run_log(db, utf7_run.id, "system")

    for job in others:
        assert await run_log(db, by_job[job.id].id, "stdout") == [
            "hello from the target",
            "second line",
        ]
    # The live log feed carries the escaped text too (jsonb refuses \u0000).
    async with db.session() as session:
        kinds = list(await session.scalars(select(Event.kind).where(Event.run_id == script_run.id)))
    assert "run.log" in kinds and "run.finished" in kinds


@pytest.mark.parametrize("retrying", [True, False], ids=["with-retries", "without-retries"])
@pytest.mark.parametrize(
    "bad_text", ["raw \x00 NUL", "raw \ud800 surrogate"], ids=["nul", "surrogate"]
)
async def test_one_unstorable_record_fails_alone_and_the_rest_of_the_batch_is_recorded(
    db, worker_settings, clock, retrying: bool, bad_text: str
) -> None:
    """Whatever slips past the escaping (here: a line put straight into a buffer), the
    database refusing it must cost only its own run: written one by one, the others are
    recorded as they finished, and the bad one ends `failed` with a clear error — not
    `lost`, and not retried. On PostgreSQL a batch with a retry takes the portable
    transaction, one without takes the one-statement path: both are covered."""
    if "\x00" in bad_text and db.is_sqlite:
        pytest.skip("SQLite stores NUL; a lone surrogate is what it refuses")
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, worker_settings, clock.now)
    retry = {"maxAttempts": 3, "initialDelay": 1, "maxDelay": 5}
    created = [
        await jobs.create_job(owner, http_job(name=f"j{i}", cron=RARELY, retry=retry))
        for i in range(4)
    ]
    for job in created:
        await runs.trigger_job(owner, job.id)
    await register_worker(db, "w1", "host", 1, "test", 8, clock.now())
    claimed = await claim_runs(db, "w1", 10, clock.now(), 30)
    assert len(claimed) == 4

    recorder = Recorder(db, "w1", clock.now)
    buffers = [recorder.buffer(run, max_lines=100) for run in claimed]
    for buffer in buffers:
        await buffer.write("stdout", f"line of {buffer.run.job_name}")
    bad = buffers[2]
    bad.lines.append((clock.now(), "stdout", bad_text))
    outcomes = [
        Outcome("succeeded", http_status=200, output="fine"),
        Outcome("failed", http_status=500, error="HTTP 500", retryable=retrying),
        Outcome("failed", http_status=500, error="HTTP 500", retryable=retrying),
        Outcome("succeeded", http_status=200, output="fine"),
    ]
    recorder.start()
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    recorder.finish(buffer, outcome)
                    for buffer, outcome in zip(buffers, outcomes, strict=True)
                )
            ),
            30,
        )
    finally:
        await recorder.close()
    assert results == [True, True, True, True]

    async with db.session() as session:
        rows = {run.id: run for run in await session.scalars(select(Run).order_by(Run.id))}
    good_ok, good_retry, broken, good_ok2 = (rows[run.id] for run in claimed)
    assert (good_ok.status, good_ok.output) == ("succeeded", "fine")
    assert (good_ok2.status, good_ok2.output) == ("succeeded", "fine")
    assert good_retry.status == "failed"
    assert broken.status == "failed" and broken.http_status == 500
    assert broken.error is not None
    assert broken.error.startswith("the run's log or result could not be stored (")
    assert broken.error.endswith("); the job itself failed")
    for run in (good_ok, good_retry, good_ok2):
        assert await run_log(db, run.id) == [f"line of {run_name(claimed, run.id)}"]
    [note] = await run_log(db, broken.id)
    assert note.startswith("[2 log line(s) could not be stored and were dropped: ")
    # The retryable good run gets its next attempt; the broken one is not run again.
    retries = [row for row in rows.values() if row.trigger == "retry"]
    assert [row.root_run_id for row in retries] == ([good_retry.id] if retrying else [])


def run_name(claimed, run_id: int) -> str:
    return next(run.job_name for run in claimed if run.id == run_id)


def test_connection_trouble_is_not_a_data_error() -> None:
    assert not is_data_error(ConnectionRefusedError(111, "refused"))
    assert not is_data_error(TimeoutError())
    assert is_data_error(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"))
