"""Worker memory: RSS of one `dts worker` idle, at full concurrency, and after a drain.

Full concurrency: 3 × 16 HTTP runs against a target that answers after `--slow-seconds`
(2 s), so the worker holds its 16 slots busy while RSS is sampled every 50 ms; the
figure is the peak. After: RSS once 2,000 fast runs have been drained (a leak shows
here). References in the same run: a bare Python interpreter, and a Procrastinate 3
worker (concurrency 16) idle and running the same slow GETs (PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Run
from bench import processes, report
from bench.databases import fresh_database
from bench.drain import FINAL, Procrastinate, add_http_jobs, scalar, start_dts_workers, wait_until
from bench.fixtures import insert_runs, run_rows
from bench.processes import rss_mb, start_target

SLOTS = 16
FAST_RUNS = 2_000


async def _peak(pid: int, seconds: float) -> float:
    peak = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, rss_mb(pid))
        await asyncio.sleep(0.05)
    return peak


async def _queue(db: Database, owner_id: int, job_ids: list[int]) -> None:
    now = datetime.now(UTC)
    await insert_runs(db, run_rows(job_ids, owner_id, now, now))


async def _dts(engine: str, fast_url: str, slow_url: str, slow_seconds: float) -> list[float]:
    async with fresh_database(engine) as db:
        owner_id, slow_jobs = await add_http_jobs(db, slow_url, 3 * SLOTS, max_attempts=1)
        _, fast_jobs = await add_http_jobs(db, fast_url, FAST_RUNS, owner_id, max_attempts=1)
        (worker,) = await start_dts_workers(db, 1, SLOTS)
        try:
            await asyncio.sleep(2)
            idle = await _peak(worker.pid, 2)
            await _queue(db, owner_id, slow_jobs)
            running = select(func.count()).select_from(Run).where(Run.status == "running")

            async def full() -> bool:
                return (await scalar(db, running)) == SLOTS

            await wait_until(full, 30, [worker], "16 runs in flight")
            busy = await _peak(worker.pid, 2.5 * slow_seconds)
            finished = select(func.count()).select_from(Run).where(Run.status.in_(FINAL))
            await _queue(db, owner_id, fast_jobs)

            async def drained() -> bool:
                return (await scalar(db, finished)) >= 3 * SLOTS + FAST_RUNS

            await wait_until(drained, 3 * slow_seconds + FAST_RUNS / 10 + 60, [worker], "drain")
            await asyncio.sleep(1)
            after = rss_mb(worker.pid)
        finally:
            await processes.stop_children([worker])
        return [idle, busy, after]


async def _procrastinate(slow_url: str, slow_seconds: float) -> list[float]:
    async with Procrastinate(slow_url) as ref:
        await ref.start_workers(1, SLOTS)
        (worker,) = ref.workers
        await asyncio.sleep(2)
        idle = await _peak(worker.pid, 2)
        await ref.run("defer", str(3 * SLOTS), slow_url)
        doing = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"

        async def full() -> bool:
            return (await ref.query(doing)) == SLOTS

        await wait_until(full, 30, ref.workers, "16 Procrastinate jobs in flight")
        busy = await _peak(worker.pid, 2.5 * slow_seconds)
        await ref.stop_workers()
    return [idle, busy, float("nan")]


async def _bare_python() -> float:
    child = processes.Child(
        "bare-python", [processes.MAIN_PYTHON, "-c", "import time; time.sleep(60)"]
    )
    try:
        await asyncio.sleep(1)
        return rss_mb(child.pid)
    finally:
        await child.astop()


async def main(args: argparse.Namespace) -> None:
    slow = args.slow_seconds
    report.note(
        f"\n## memory — one worker, {SLOTS} slots; full = {SLOTS} GETs in flight "
        f"(target answers after {slow:g} s); after = once {FAST_RUNS:,} more runs drained"
    )
    target = await start_target()
    rows = []
    try:
        bare = await _bare_python()
        for engine in args.engines:
            idle, busy, after = await _dts(engine, target.url, target.slow_url(slow), slow)
            rows.append(
                [
                    f"**dts worker ({engine})**",
                    f"{idle:.0f} MB",
                    f"{busy:.0f} MB",
                    f"{after:.0f} MB",
                    report.verdict(max(busy, after) <= 100),
                ]
            )
        if not args.no_procrastinate and "postgres" in args.engines:
            idle, busy, _ = await _procrastinate(target.slow_url(slow), slow)
            rows.append(["Procrastinate worker", f"{idle:.0f} MB", f"{busy:.0f} MB", "–", "–"])
    finally:
        await target.stop()
    rows.append(["bare Python interpreter", f"{bare:.0f} MB", "–", "–", "–"])
    report.show(
        "Worker RSS (target ≤ 100 MB at full concurrency)",
        ["process", "idle", f"{SLOTS} in flight (peak)", f"after {FAST_RUNS:,} runs", "target"],
        rows,
    )
