"""The scheduler tick over real databases: runs appear once per occurrence, on time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Event, Job, Run
from tests.conftest import FakeClock
from tests.factories import add_user, http_job, services
from tests.scheduling.tick_process import race
from worker.tick import tick

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def runs_of(db: Database, job_id: int) -> list[Run]:
    async with db.session() as session:
        rows = await session.scalars(select(Run).where(Run.job_id == job_id).order_by(Run.id))
        return list(rows.all())


async def test_due_job_gets_one_run_and_next_run_advances(db, settings, clock: FakeClock) -> None:
    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="*/5 * * * *"))
    assert job.next_run_at == T0 + timedelta(minutes=5)

    assert (await tick(db, T0 + timedelta(minutes=4))).queued == 0
    clock.set(T0 + timedelta(minutes=5, seconds=1))
    stats = await tick(db, clock.now())
    assert stats.queued == 1
    assert (await tick(db, clock.now())).queued == 0  # a second tick finds nothing
    [run] = await runs_of(db, job.id)
    assert run.status == "queued" and run.scheduled_for == T0 + timedelta(minutes=5)
    assert run.trigger == "schedule" and run.attempt == 1
    async with db.session() as session:
        fresh = await session.get(Job, job.id)
        kinds = list(await session.scalars(select(Event.kind).order_by(Event.id)))
    assert fresh is not None and fresh.next_run_at == T0 + timedelta(minutes=10)
    assert kinds == ["job.created", "run.queued"]


async def test_dst_spring_forward_job_runs_once_after_the_gap(db, settings, clock) -> None:
    # 02:30 does not exist in Berlin on 2026-03-29: the run happens at 03:00 CEST (01:00Z).
    clock.set(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="30 2 * * *", timezone="Europe/Berlin"))
    assert job.next_run_at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    for hour in range(0, 30):  # tick every hour through the night and the next day
        await tick(db, datetime(2026, 3, 28, 23, 0, tzinfo=UTC) + timedelta(hours=hour))
    runs = await runs_of(db, job.id)
    assert [r.scheduled_for for r in runs] == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),  # 02:30 CEST the next day
    ]


async def test_dst_fall_back_fixed_time_runs_once(db, settings, clock) -> None:
    # 01:30 happens twice in New York on 2026-11-01; a fixed-time job runs at the first.
    clock.set(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="30 1 * * *", timezone="America/New_York"))
    start = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    for minute in range(0, 180, 5):
        await tick(db, start + timedelta(minutes=minute))
    runs = await runs_of(db, job.id)
    assert [r.scheduled_for for r in runs] == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]


async def test_concurrent_ticks_create_exactly_one_run_per_occurrence(
    db, settings, clock, database_url
) -> None:
    """Three schedulers (separate engines/connections) race over 500 jobs due at once."""
    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    for index in range(500):
        await jobs.create_job(owner, http_job(name=f"job-{index}", cron="* * * * *"))
    due = T0 + timedelta(minutes=1)

    schedulers = [Database(database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(tick(s, due, batch=100) for s in schedulers))
    finally:
        for scheduler in schedulers:
            await scheduler.dispose()

    assert sum(r.queued for r in results) == 500
    async with db.session() as session:
        total = await session.scalar(select(func.count()).select_from(Run))
        distinct = await session.scalar(select(func.count(func.distinct(Run.job_id))))
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "run.queued")
        )
    assert total == 500 and distinct == 500 and events == 500
    if db.is_postgres:
        assert sum(1 for r in results if r.queued) >= 2  # the work really was shared


async def test_paused_job_creates_nothing_and_resume_skips_the_pause(db, settings, clock) -> None:
    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="*/10 * * * *"))
    await jobs.set_paused(owner, job.id, True)
    clock.advance(hours=1)
    await tick(db, clock.now())
    assert await runs_of(db, job.id) == []
    resumed = await jobs.set_paused(owner, job.id, False)
    assert resumed.next_run_at == T0 + timedelta(hours=1, minutes=10)
    await tick(db, clock.now())
    assert await runs_of(db, job.id) == []  # nothing from the paused hour ran


async def test_resume_with_catch_up_applies_the_misfire_policy(db, settings, clock) -> None:
    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="*/10 * * * *", misfire="coalesce"))
    await jobs.set_paused(owner, job.id, True)
    clock.advance(hours=1)
    await jobs.set_paused(owner, job.id, False, catch_up=True)
    await tick(db, clock.now())
    runs = await runs_of(db, job.id)
    assert sorted(r.status for r in runs) == ["missed"] * 5 + ["queued"]
    queued = next(r for r in runs if r.status == "queued")
    assert queued.scheduled_for == T0 + timedelta(hours=1)


async def test_ticks_in_separate_processes_create_exactly_one_run_per_occurrence(
    db, settings, clock, database_url
) -> None:
    """2 OS processes on SQLite (3 on PostgreSQL) tick 500 due jobs at the same moment."""

    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    for index in range(500):
        await jobs.create_job(owner, http_job(name=f"job-{index}", cron="* * * * *"))
    count = 3 if db.is_postgres else 2
    stats = race(database_url, T0 + timedelta(minutes=1), count, lead_seconds=3)
    queued = [each["queued"] for each in stats]
    assert sum(queued) == 500
    async with db.session() as session:
        total = await session.scalar(select(func.count()).select_from(Run))
        distinct = await session.scalar(
            select(func.count()).select_from(
                select(Run.job_id, Run.scheduled_for).distinct().subquery()
            )
        )
    assert total == distinct == 500
