"""Workers executing real HTTP calls and real scripts, with retries, recorded in the database."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from datetime import UTC, datetime

import pytest

from app.domain.errors import ValidationError
from tests.factories import add_user, http_job, script_job, services
from tests.worker.conftest import job_runs, run_log, running_worker, wait_for

FINAL = {"succeeded", "failed", "timed_out", "cancelled", "lost"}
RARELY = "0 0 1 1 *"


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (nothing reaps orphans in containers)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def finished(db, job_id: int, count: int = 1):
    async def check():
        runs = await job_runs(db, job_id)
        done = [r for r in runs if r.status in FINAL]
        active = [r for r in runs if r.status in ("queued", "running")]
        return runs if len(done) >= count and not active else None

    return await wait_for(check, timeout=20)


async def test_briefs_script_example_runs_on_its_schedule(db, worker_settings, clock) -> None:
    clock.set(datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC))
    admin = await add_user(db, "admin@example.com")
    jobs, _ = services(db, worker_settings, clock.now)
    job = await jobs.create_job(admin, script_job())  # node scripts/hello.js, */2 * * * *
    assert job.next_run_at == datetime(2026, 1, 5, 12, 2, tzinfo=UTC)
    async with running_worker(worker_settings, clock=clock.now):
        await asyncio.sleep(0.3)
        assert await job_runs(db, job.id) == []  # not due yet
        clock.set(datetime(2026, 1, 5, 12, 2, 0, 500000, tzinfo=UTC))
        [run] = await finished(db, job.id)
        clock.set(datetime(2026, 1, 5, 12, 4, 0, 500000, tzinfo=UTC))
        runs = await finished(db, job.id, 2)
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert [r.scheduled_for.minute for r in runs] == [2, 4]
    assert run.exit_code == 0
    lines = await run_log(db, run.id)
    assert any(line.startswith("Hello from DTS worker at") for line in lines), lines


async def test_http_job_succeeds_with_identifying_headers(db, worker_settings, target) -> None:
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, worker_settings, datetime.now)  # type: ignore[arg-type]
    jobs.clock = runs.clock = lambda: datetime.now(UTC)
    job = await jobs.create_job(
        owner,
        http_job(
            cron=RARELY, http={"method": "POST", "url": target.url("/echo"), "body": {"a": 1}}
        ),
    )
    async with running_worker(worker_settings):
        run = await runs.trigger_job(owner, job.id)
        [done] = await finished(db, job.id)
    assert done.id == run.id and done.status == "succeeded" and done.http_status == 200
    seen = target.requests[-1]
    assert seen.headers["idempotency-key"] == f"dts-run-{run.id}"
    assert seen.headers["x-dts-run-id"] == str(run.id)
    assert seen.headers["x-dts-attempt"] == "1"
    assert seen.headers["user-agent"].startswith("dts/")
    assert seen.body == b'{"a":1}'
    log = "\n".join(await run_log(db, run.id))
    assert "200" in log


async def test_500_then_success_retries_with_growing_delays(db, worker_settings, target) -> None:
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    job = await jobs.create_job(
        owner,
        http_job(
            cron=RARELY,
            http={"method": "GET", "url": target.url("/fail-twice")},
            retry={"maxAttempts": 4, "initialDelay": 0.4, "multiplier": 3, "maxDelay": 10},
        ),
    )
    async with running_worker(worker_settings):
        first = await runs.trigger_job(owner, job.id)
        history = await finished(db, job.id, 3)
    assert [(r.attempt, r.status, r.http_status) for r in history] == [
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "succeeded", 200),
    ]
    assert [r.trigger for r in history] == ["manual", "retry", "retry"]
    assert all(r.root_run_id == first.id for r in history[1:])
    assert len({r.scheduled_for for r in history}) == 1  # one occurrence, three attempts
    # Same Idempotency-Key on every attempt, the attempt number rising.
    keys = [r.headers["idempotency-key"] for r in target.requests]
    assert keys == [f"dts-run-{first.id}"] * 3
    assert [r.headers["x-dts-attempt"] for r in target.requests] == ["1", "2", "3"]
    # Retries waited (jitter: uniform in [cap/2, cap]), and waits never exceed the caps.
    gaps = [(history[i + 1].run_after - history[i].finished_at).total_seconds() for i in range(2)]
    assert 0.2 - 0.05 <= gaps[0] <= 0.4 + 0.05 and 0.6 - 0.05 <= gaps[1] <= 1.2 + 0.05


async def test_429_retry_after_is_honoured(db, worker_settings, target) -> None:
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    job = await jobs.create_job(
        owner,
        http_job(
            cron=RARELY,
            http={"method": "GET", "url": target.url("/limited")},
            retry={"maxAttempts": 3, "initialDelay": 0.01, "maxDelay": 5},
        ),
    )
    async with running_worker(worker_settings):
        await runs.trigger_job(owner, job.id)
        history = await finished(db, job.id, 2)
    assert [(r.status, r.http_status) for r in history] == [("failed", 429), ("succeeded", 200)]
    calls = target.calls["/limited"]
    assert calls[1] - calls[0] >= 0.95  # Retry-After: 1 beat the 10 ms backoff


async def test_timeout_and_connection_refused(db, worker_settings, target) -> None:
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    no_retry = {"maxAttempts": 1}
    slow = await jobs.create_job(
        owner,
        http_job(
            name="slow",
            cron=RARELY,
            timeoutSeconds=1,
            retry=no_retry,
            http={"method": "GET", "url": target.url("/slow")},
        ),
    )
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    refused = await jobs.create_job(
        owner,
        http_job(
            name="refused",
            cron=RARELY,
            retry=no_retry,
            http={"method": "GET", "url": f"http://127.0.0.1:{closed_port}/"},
        ),
    )
    async with running_worker(worker_settings):
        started = time.monotonic()
        await runs.trigger_job(owner, slow.id)
        await runs.trigger_job(owner, refused.id)
        [timed_out] = await finished(db, slow.id)
        [failed] = await finished(db, refused.id)
    assert timed_out.status == "timed_out" and time.monotonic() - started < 8
    assert failed.status == "failed" and "refused" in (failed.error or "").lower()


async def test_script_output_is_readable_while_it_runs(db, worker_settings) -> None:
    admin = await add_user(db, "admin@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    code = (
        "import time\nfor i in range(6):\n    print('tick', i, flush=True)\n    time.sleep(0.5)\n"
    )
    job = await jobs.create_job(
        admin,
        script_job(cron=RARELY, script={"command": "python3", "args": ["-c", code], "cwd": "."}),
    )
    async with running_worker(worker_settings):
        run = await runs.trigger_job(admin, job.id)

        async def two_lines_while_running():
            lines = await run_log(db, run.id)
            [current] = await job_runs(db, job.id)
            return current.status == "running" and len(lines) >= 2

        await wait_for(two_lines_while_running, timeout=10)
        [done] = await finished(db, job.id)
    assert done.status == "succeeded"
    assert [line for line in await run_log(db, run.id) if line.startswith("tick")] == [
        f"tick {i}" for i in range(6)
    ]


async def test_cancel_kills_the_process_group_within_two_seconds(
    db, worker_settings, tmp_path
) -> None:
    admin = await add_user(db, "admin@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    pidfile = tmp_path / "pids"
    code = f"sleep 60 & echo $$ $! > {pidfile}; wait"
    job = await jobs.create_job(
        admin, script_job(cron=RARELY, script={"command": "sh", "args": ["-c", code], "cwd": "."})
    )
    async with running_worker(worker_settings):
        run = await runs.trigger_job(admin, job.id)
        await wait_for(lambda: asyncio.sleep(0, pidfile.exists() and pidfile.read_text().strip()))
        pids = [int(p) for p in pidfile.read_text().split()]
        started = time.monotonic()
        await runs.cancel_run(admin, run.id)
        [done] = await finished(db, job.id)
        elapsed = time.monotonic() - started
    assert done.status == "cancelled"
    assert elapsed < 2.0, elapsed
    assert not any(alive(pid) for pid in pids)


async def test_forbid_never_runs_two_at_once_across_two_workers(db, worker_settings) -> None:
    admin = await add_user(db, "admin@example.com")
    jobs, _runs = services(db, worker_settings, lambda: datetime.now(UTC))
    job = await jobs.create_job(
        admin,
        script_job(
            cron="* * * * * *",
            concurrency="forbid",
            script={"command": "sleep", "args": ["1.5"], "cwd": "."},
        ),
    )
    async with running_worker(worker_settings), running_worker(worker_settings):
        overlap = 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            current = await job_runs(db, job.id)
            active = [r for r in current if r.status in ("queued", "running")]
            overlap = max(overlap, len(active))
            await asyncio.sleep(0.05)
        await jobs.set_paused(admin, job.id, True)
        history = await finished(db, job.id, 2)
    statuses = [r.status for r in history]
    assert overlap == 1
    assert statuses.count("succeeded") >= 2 and statuses.count("skipped") >= 1
    spans = sorted((r.started_at, r.finished_at) for r in history if r.status == "succeeded")
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


async def test_private_targets_and_escaping_cwd_are_refused(db, settings) -> None:
    owner = await add_user(db, "admin@example.com")
    jobs, _ = services(db, settings, lambda: datetime.now(UTC))
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/",
        "http://localhost/",
    ):
        with pytest.raises(ValidationError) as caught:
            await jobs.create_job(owner, http_job(http={"method": "GET", "url": url}))
        assert caught.value.field == "http.url" and "DTS_HTTP_ALLOW_PRIVATE" in caught.value.message
    with pytest.raises(ValidationError) as caught:
        await jobs.create_job(owner, script_job(script={"command": "ls", "cwd": "../.."}))
    assert caught.value.field == "script.cwd"
    allowed = services(db, settings.model_copy(update={"http_allow_private": True}), jobs.clock)[0]
    job = await allowed.create_job(
        owner, http_job(http={"method": "GET", "url": "http://127.0.0.1:9/"})
    )
    assert job.id


async def test_run_time_ssrf_guard_refuses_private_resolution(db, settings, target) -> None:
    """Created while private targets were allowed, run by a worker that forbids them."""
    owner = await add_user(db, "ada@example.com")
    open_settings = settings.model_copy(update={"http_allow_private": True, "poll_interval": 0.05})
    jobs, runs = services(db, open_settings, lambda: datetime.now(UTC))
    job = await jobs.create_job(
        owner,
        http_job(
            cron=RARELY, retry={"maxAttempts": 1}, http={"method": "GET", "url": target.url("/ok")}
        ),
    )
    async with running_worker(open_settings, http_allow_private=False):
        await runs.trigger_job(owner, job.id)
        [done] = await finished(db, job.id)
    assert done.status == "failed" and "DTS_HTTP_ALLOW_PRIVATE" in (done.error or "")
    assert target.requests == []
