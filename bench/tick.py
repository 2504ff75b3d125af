"""Scheduler tick cost at 1,000 vs 100,000 registered jobs, and the materialisation rate.

Tick cost: N registered jobs of which 100 (`* * * * *`) are due; the rest run daily,
weekly, monthly or yearly in several zones, so none falls due during the measurement. Each
repetition ticks one minute later, so the same 100 jobs are due again and nothing else is.
Reported: the median tick (100 due → 100 runs) and an idle tick (nothing due, what every
worker does each poll), at 1,000 and at N jobs; the ratio is the target (≤ 1.2×).

Materialisation: 10,000 jobs due at the same instant, one `tick()`; runs created per
second. Reference: the bare writes the tick must make (10,000 run rows and 10,000 events
with executemany in one transaction), measured on the same database.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from app.db.engine import Database
from app.db.models import Event, Job, Run
from app.feed.events import event_row
from bench import monitors, report, scaling
from bench.databases import fresh_database
from bench.fixtures import BASE_TIME, add_user, analyze, copies, insert_jobs, job_row, run_rows
from worker.tick import next_due_at, tick

DUE = 100
# Schedules of the jobs that are not due: none falls within the hour the bench spans.
QUIET = [
    ("0 3 * * *", "Europe/Berlin"),
    ("30 2 * * 0", "America/New_York"),
    ("0 4 1 * *", "Australia/Lord_Howe"),
    ("15 6 * * 1-5", "Asia/Tokyo"),
    ("0 0 1 1 *", "UTC"),
    ("45 23 L * *", "America/Sao_Paulo"),
]


async def _registered(db: Database, total: int) -> None:
    owner = await add_user(db)
    url = "http://127.0.0.1:9/"
    rows = copies(job_row(owner.user_id, name="due", url=url, cron="* * * * *"), DUE, "due")
    for row in rows:
        row["next_run_at"] = BASE_TIME
    quiet = total - DUE
    for index, (cron, zone) in enumerate(QUIET):
        share = quiet // len(QUIET) + (1 if index < quiet % len(QUIET) else 0)
        template = job_row(owner.user_id, name="quiet", url=url, cron=cron, timezone=zone)
        assert template["next_run_at"] > BASE_TIME + timedelta(hours=1), (cron, zone)
        rows += copies(template, share, f"quiet{index}")
    await insert_jobs(db, rows)
    await analyze(db)


async def _tick_costs(
    engine: str, sizes: tuple[int, int], reps: int
) -> dict[int, tuple[list[float], list[float]]]:
    """Busy and idle tick times per size; the sizes' ticks alternate, so drift hits both."""
    async with fresh_database(engine) as small, fresh_database(engine) as large:
        dbs = {sizes[0]: small, sizes[1]: large}
        for size, db in dbs.items():
            await _registered(db, size)

        async def busy(size: int, db: Database, minute: datetime) -> None:
            stats = await tick(db, minute + timedelta(seconds=1))
            assert stats.queued == DUE, f"expected {DUE} runs, the tick made {stats.queued}"

        async def idle(size: int, db: Database, minute: datetime) -> None:
            quiet = await tick(db, minute + timedelta(seconds=30))
            await next_due_at(db)
            assert quiet.queued == 0

        return await scaling.busy_and_idle_times(dbs, reps, busy, idle)


async def _materialise(engine: str, count: int, reps: int) -> tuple[list[float], list[float]]:
    async with fresh_database(engine) as db:
        owner = await add_user(db)
        template = job_row(owner.user_id, name="m", url="http://127.0.0.1:9/", cron="* * * * *")
        ids = await insert_jobs(db, copies(template, count, "m", next_run_at=BASE_TIME))
        await analyze(db)
        ticks: list[float] = []
        raw: list[float] = []
        for rep in range(reps):
            minute = BASE_TIME + timedelta(minutes=rep)
            started = time.perf_counter()
            stats = await tick(db, minute + timedelta(seconds=1))
            ticks.append(time.perf_counter() - started)
            assert stats.queued == count, f"expected {count} runs, the tick made {stats.queued}"
            # Reference: only the rows the tick writes (runs + their events), no planning.
            scheduled = BASE_TIME + timedelta(days=1, minutes=rep)
            rows = run_rows(ids, owner.user_id, scheduled, scheduled)
            started = time.perf_counter()
            async with db.transaction() as session:
                result = await session.execute(
                    insert(Run).returning(Run.id, sort_by_parameter_order=True), rows
                )
                run_ids = [r[0] for r in result]
                await session.execute(
                    insert(Event),
                    [
                        event_row("run.queued", job_id=j, run_id=r, owner_id=owner.user_id)
                        for j, r in zip(ids, run_ids, strict=True)
                    ],
                )
            raw.append(time.perf_counter() - started)
        async with db.session() as session:
            runs = await session.scalar(select(func.count()).select_from(Run))
            due_left = await session.scalar(
                select(func.count()).select_from(Job).where(Job.next_run_at <= BASE_TIME)
            )
        assert runs == 2 * count * reps and due_left == 0
        return ticks, raw


async def main(args: argparse.Namespace) -> None:
    large = args.tick_jobs
    reps = args.tick_reps
    report.note(
        f"\n## tick — scheduler tick at 1,000 vs {large:,} registered jobs ({DUE} due), "
        f"median of {reps} ticks; materialisation of {args.materialise:,} due jobs"
    )
    rows = []
    for engine in args.engines:
        times = await _tick_costs(engine, (1_000, large), reps)
        rows += scaling.rows(
            engine, times[1_000], times[large], f"tick, {DUE} due", "idle tick + next_due_at"
        )
    report.show(
        "Tick cost, median / fastest of the repetitions (reference: the same tick at 1,000 "
        "jobs; target ≤ 1.2×, judged on the fastest, which other load on the machine "
        "disturbs least)",
        scaling.header("jobs", 1_000, large),
        rows,
    )
    # Beside the job tick: the heartbeat monitors every tick also checks (bench/monitors.py).
    await monitors.show(args.engines, args.tick_monitors, reps)
    rows = []
    for engine in args.engines:
        ticks, raw = await _materialise(engine, args.materialise, args.materialise_reps)
        t, r = report.median(ticks), report.median(raw)
        rows.append(
            [
                engine,
                report.ms(t),
                report.rate(args.materialise / t, " runs/s"),
                report.ms(r),
                report.rate(args.materialise / r, " runs/s"),
                report.ratio(t, r),
            ]
        )
    report.show(
        f"Materialisation: {args.materialise:,} jobs due at once, one tick "
        f"(median of {args.materialise_reps}; reference: bare insert of the same runs + events)",
        ["engine", "tick", "runs created", "bare insert", "bare rate", "tick / bare"],
        rows,
    )
