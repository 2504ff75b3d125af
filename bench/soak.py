"""Soak: many second-level schedules for minutes on end, with several workers on PostgreSQL.

`python -m bench.soak [--minutes 10] [--jobs 200] [--workers 3]`

200 HTTP jobs on `S/5 * * * * *` schedules (S = job number mod 5, so 40 jobs fall due
every second) against a local HTTP target, executed by 3 `dts worker` processes on a fresh
PostgreSQL database. Prints, for the measured window (after one warm-up cycle):

- occurrences expected (from the schedules), created (first attempts), duplicated (must
  be 0), missing (must be 0), completed, and anything else they ended as;
- start lag (scheduled_for → started_at of first attempts) percentiles, overall and per
  minute (a slowdown over time shows there);
- RSS of every worker at the start and at the end of the window, and its peak (sampled
  every 5 s): growth beyond noise would be a leak.

Not part of `python -m bench` (it runs for minutes by design). It exits non-zero if
anything was duplicated, missing or left unfinished.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import signal
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from app.db.engine import Database
from app.db.models import Event, Job, Run, RunLog
from bench import databases, processes, report
from bench.databases import fresh_database
from bench.drain import start_dts_workers
from bench.fixtures import add_user, insert_jobs, job_row
from bench.processes import rss_mb, start_target, stop_children

RSS_EVERY = 5.0


def expected_occurrences(
    job_offsets: dict[int, int], every: int, start: datetime, end: datetime
) -> set[tuple[int, datetime]]:
    """(job, second) for every second in [start, end) on which each job's cron fires."""
    seconds = int((end - start).total_seconds())
    wanted: set[tuple[int, datetime]] = set()
    for step in range(seconds):
        at = start + timedelta(seconds=step)
        for job_id, offset in job_offsets.items():
            if at.second % every == offset:
                wanted.add((job_id, at))
    return wanted


async def runs_between(
    db: Database, job_ids: list[int], start: datetime, end: datetime
) -> list[tuple[int, datetime, int, str, datetime | None]]:
    async with db.session() as session:
        rows = await session.execute(
            select(Run.job_id, Run.scheduled_for, Run.attempt, Run.status, Run.started_at).where(
                Run.job_id.in_(job_ids), Run.scheduled_for >= start, Run.scheduled_for < end
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def count_rows(db: Database, model: type) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def soak(args: argparse.Namespace) -> int:
    async with fresh_database("postgres") as db:
        target = await start_target()
        workers: list[processes.Child] = []
        try:
            owner = await add_user(db)
            workers = await start_dts_workers(db, args.workers, args.concurrency)
            pids = {w.name: w.pid for w in workers}
            created_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
            rows = [
                job_row(
                    owner.user_id,
                    name=f"soak-{i}",
                    url=target.url,
                    cron=f"{i % args.every}/{args.every} * * * * *",
                    now=created_at,
                    max_attempts=3,
                )
                for i in range(args.jobs)
            ]
            job_ids = await insert_jobs(db, rows)
            offsets = {job_id: i % args.every for i, job_id in enumerate(job_ids)}
            window_start = created_at + timedelta(seconds=args.every + 1)  # after a warm-up
            window_end = window_start + timedelta(minutes=args.minutes)
            report.note(
                f"soak: {args.jobs} jobs every {args.every} s "
                f"({args.jobs / args.every:.0f} due per second), {args.workers} workers × "
                f"{args.concurrency}, window {window_start:%H:%M:%S}–{window_end:%H:%M:%S} UTC"
            )

            await asyncio.sleep(max(0.0, (window_start - datetime.now(UTC)).total_seconds()))
            load = [os.getloadavg()[0]]
            rss_start = {name: rss_mb(pid) for name, pid in pids.items()}
            rss_peak = dict(rss_start)
            rss_by_minute: dict[int, float] = {}  # mean worker RSS, last sample of the minute
            next_progress = time.monotonic() + 60
            while datetime.now(UTC) < window_end:
                for worker in workers:
                    if not worker.alive():
                        raise RuntimeError(f"{worker.name} exited:\n{worker.output()}")
                sample = {name: rss_mb(pid) for name, pid in pids.items()}
                for name, value in sample.items():
                    rss_peak[name] = max(rss_peak[name], value)
                minute = int((datetime.now(UTC) - window_start).total_seconds() // 60)
                rss_by_minute[minute] = sum(sample.values()) / len(sample)
                load.append(os.getloadavg()[0])
                if time.monotonic() >= next_progress:
                    next_progress += 60
                    done = await runs_between(db, job_ids, window_start, window_end)
                    lags = [
                        (started - at).total_seconds()
                        for _, at, attempt, _, started in done
                        if attempt == 1 and started is not None
                    ]
                    report.note(
                        f"  {datetime.now(UTC):%H:%M:%S} {len(done):,} runs so far, "
                        f"start lag p99 {report.ms(report.percentile(lags, 99))}"
                    )
                left = (window_end - datetime.now(UTC)).total_seconds()
                await asyncio.sleep(max(0.0, min(RSS_EVERY, left)))
            rss_end = {name: rss_mb(pid) for name, pid in pids.items()}

            # No new occurrences after the window; let the last ones finish.
            async with db.transaction() as session:
                await session.execute(
                    update(Job).where(Job.id.in_(job_ids)).values(paused=True, next_run_at=None)
                )
            expected = expected_occurrences(offsets, args.every, window_start, window_end)

            async def settled() -> bool:
                found = await runs_between(db, job_ids, window_start, window_end)
                return all(status not in ("queued", "running") for *_, status, _ in found)

            deadline = time.monotonic() + 60
            while not await settled() and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            found = await runs_between(db, job_ids, window_start, window_end)
            async with db.session() as session:
                failures = Counter(
                    f"{status}: {((error or '').splitlines() or ['(no error)'])[0][:120]}"
                    for status, error in await session.execute(
                        select(Run.status, Run.error).where(
                            Run.job_id.in_(job_ids),
                            Run.scheduled_for >= window_start,
                            Run.scheduled_for < window_end,
                            Run.status != "succeeded",
                        )
                    )
                )
            table_sizes = {
                "runs": await count_rows(db, Run),
                "run_logs": await count_rows(db, RunLog),
                "events": await count_rows(db, Event),
            }
        finally:
            await stop_children(workers)
            await target.stop()

    report.note(
        f"machine load (1-min average, {os.cpu_count()} cores) during the window: "
        f"min {min(load):.1f}, median {report.median(load):.1f}, max {max(load):.1f}"
        " (other processes share this machine; lag figures include their contention)"
    )
    for reason, count in failures.most_common(5):
        report.note(f"attempts not succeeded: {count} × {reason}")
    return summarise(
        args, expected, found, (rss_start, rss_end, rss_peak, rss_by_minute), table_sizes
    )


def summarise(
    args: argparse.Namespace,
    expected: set[tuple[int, datetime]],
    found: list[tuple[int, datetime, int, str, datetime | None]],
    rss: tuple[dict[str, float], dict[str, float], dict[str, float], dict[int, float]],
    table_sizes: dict[str, int],
) -> int:
    rss_start, rss_end, rss_peak, rss_by_minute = rss
    attempts: dict[tuple[int, datetime], list[tuple[int, str]]] = defaultdict(list)
    lags: list[tuple[datetime, float]] = []
    for job_id, at, attempt, status, started in found:
        attempts[(job_id, at)].append((attempt, status))
        if attempt == 1 and started is not None:
            lags.append((at, (started - at).total_seconds()))
    firsts = Counter(key for key, tries in attempts.items() for a, _ in tries if a == 1)
    created = sum(1 for key in expected if firsts[key] >= 1)
    duplicated = sum(n - 1 for n in firsts.values() if n > 1)
    missing = len(expected) - created
    endings = Counter(max(attempts[key])[1] for key in expected if key in attempts)
    unfinished = endings["queued"] + endings["running"]
    retried = sum(1 for key in expected if len(attempts.get(key, [])) > 1)

    values = [lag for _, lag in lags]
    report.show(
        f"Soak: {args.jobs} jobs every {args.every} s, {args.workers} workers, "
        f"{args.minutes:g} min on PostgreSQL",
        ["occurrences expected", "created", "duplicated", "missing", "completed", "other"],
        [
            [
                f"{len(expected):,}",
                f"{created:,}",
                duplicated,
                missing,
                f"{endings['succeeded']:,}",
                ", ".join(f"{k} {v}" for k, v in endings.items() if k != "succeeded") or "–",
            ]
        ],
    )
    report.note(f"\nretried occurrences: {retried}; rows at the end: {table_sizes}")
    report.show(
        "Start lag (scheduled → started, first attempts)",
        ["runs", "p50", "p95", "p99", "max"],
        [
            [
                f"{len(values):,}",
                report.ms(report.percentile(values, 50)),
                report.ms(report.percentile(values, 95)),
                report.ms(report.percentile(values, 99)),
                report.ms(max(values, default=math.nan)),
            ]
        ],
    )
    by_minute: dict[int, list[float]] = defaultdict(list)
    first_at = min((at for at, _ in lags), default=None)
    for at, lag in lags:
        assert first_at is not None
        by_minute[int((at - first_at).total_seconds() // 60)].append(lag)
    report.show(
        "Per minute of the window",
        ["minute", "runs", "p50", "p99", "worker RSS (mean)"],
        [
            [
                minute + 1,
                f"{len(v):,}",
                report.ms(report.percentile(v, 50)),
                report.ms(report.percentile(v, 99)),
                f"{rss_by_minute[minute]:.1f} MB" if minute in rss_by_minute else "–",
            ]
            for minute, v in sorted(by_minute.items())
        ],
    )
    report.show(
        "Worker memory (RSS)",
        ["process", "start", "end", "growth", "peak"],
        [
            [
                name,
                f"{rss_start[name]:.1f} MB",
                f"{rss_end[name]:.1f} MB",
                f"{rss_end[name] - rss_start[name]:+.1f} MB",
                f"{rss_peak[name]:.1f} MB",
            ]
            for name in rss_start
        ],
    )
    ok = duplicated == 0 and missing == 0 and unfinished == 0
    report.note(
        "\nsoak: OK" if ok else "\nsoak: FAILED (duplicated, missing or unfinished occurrences)"
    )
    return 0 if ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="measured window [10]")
    p.add_argument("--jobs", type=int, default=200, help="number of jobs [200]")
    p.add_argument("--every", type=int, default=5, help="each job fires every N seconds [5]")
    p.add_argument("--workers", type=int, default=3, help="dts worker processes [3]")
    p.add_argument("--concurrency", type=int, default=16, help="runs per worker [16]")
    return p


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parser().parse_args()
    if not 1 <= args.every <= 59 or 60 % args.every:
        print("soak: --every must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)")
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"# dts soak — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    try:
        problem = asyncio.run(databases.postgres_reachable())
        if problem:
            print(f"soak: {problem}", file=sys.stderr)
            return 2
        return asyncio.run(soak(args))
    except KeyboardInterrupt:
        print("\nsoak: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        databases.drop_leftovers()


if __name__ == "__main__":
    sys.exit(main())
