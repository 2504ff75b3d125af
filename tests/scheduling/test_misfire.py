"""A 3-hour outage: each misfire policy produces exactly the runs it promises, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db.models import Run
from app.domain.misfire import MISSED_RECORD_CAP, plan_due
from app.domain.schedule import CronSchedule
from tests.factories import add_user, http_job, services
from worker.claims import claim_runs
from worker.tick import tick

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
OUTAGE = timedelta(hours=3)


async def outage_runs(db, settings, clock, **job_fields) -> list[Run]:
    clock.set(T0)
    owner = await add_user(db, "ops@example.com")
    jobs, _ = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="*/15 * * * *", **job_fields))
    # The scheduler was down from T0 to T0+3h05m: 12 occurrences (12:15 … 15:00) passed.
    await tick(db, T0 + OUTAGE + timedelta(minutes=5))
    async with db.session() as session:
        rows = await session.scalars(
            select(Run).where(Run.job_id == job.id).order_by(Run.scheduled_for)
        )
        return list(rows.all())


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_coalesce_runs_once_for_the_latest_and_records_the_rest(db, settings, clock) -> None:
    runs = await outage_runs(db, settings, clock, misfire="coalesce")
    assert [r.status for r in runs] == ["missed"] * 11 + ["queued"]
    assert runs[-1].scheduled_for == at(180)
    assert [r.scheduled_for for r in runs] == [at(15 * k) for k in range(1, 13)]
    assert all("not running" in (r.error or "") for r in runs[:-1])


async def test_all_runs_every_missed_occurrence_up_to_the_limit(db, settings, clock) -> None:
    runs = await outage_runs(db, settings, clock, misfire="all", misfireLimit=5)
    assert [r.status for r in runs] == ["missed"] * 7 + ["queued"] * 5
    assert [r.scheduled_for for r in runs if r.status == "queued"] == [
        at(15 * k) for k in range(8, 13)
    ]


async def test_skip_records_every_occurrence_as_missed(db, settings, clock) -> None:
    runs = await outage_runs(db, settings, clock, misfire="skip")
    assert [r.status for r in runs] == ["missed"] * 12


async def test_after_the_outage_the_schedule_continues_normally(db, settings, clock) -> None:
    await outage_runs(db, settings, clock, misfire="coalesce")
    await tick(db, at(195) + timedelta(seconds=1))
    async with db.session() as session:
        latest = await session.scalar(select(Run).order_by(Run.scheduled_for.desc()).limit(1))
    assert latest is not None and latest.scheduled_for == at(195) and latest.status == "queued"


async def test_starting_deadline_turns_a_late_queued_run_into_missed(db, settings, clock) -> None:
    clock.set(T0)
    owner = await add_user(db, "ops@example.com")
    jobs, _ = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="*/15 * * * *", startingDeadlineSeconds=30))
    await tick(db, at(15))
    # No worker claimed it within 30 s.
    assert await claim_runs(db, "w1", 10, at(15) + timedelta(seconds=45), 30) == []
    async with db.session() as session:
        run = await session.scalar(select(Run).where(Run.job_id == job.id))
    assert run is not None and run.status == "missed" and "deadline" in (run.error or "")


@pytest.mark.parametrize(
    ("policy", "queue", "missed"),
    [("coalesce", 1, 2), ("all", 3, 0), ("skip", 0, 3)],
)
def test_plan_due_table(policy: str, queue: int, missed: int) -> None:
    schedule = CronSchedule("0 * * * *", "UTC")
    plan = plan_due(schedule, at(60), at(180) + timedelta(minutes=30), policy=policy, limit=10)
    assert (len(plan.queue), len(plan.missed)) == (queue, missed)
    assert plan.next_run_at == at(240)


def test_plan_due_on_time_occurrence_is_not_a_misfire() -> None:
    plan = plan_due(CronSchedule("* * * * *"), at(1), at(1) + timedelta(seconds=2), policy="skip")
    assert plan.queue == [at(1)] and plan.missed == []


def test_plan_due_a_huge_backlog_is_bounded_and_still_lands_on_the_latest() -> None:
    schedule = CronSchedule("* * * * * *")  # every second, down for a week
    now = T0 + timedelta(days=7)
    plan = plan_due(schedule, T0, now, policy="coalesce", limit=100)
    assert plan.queue == [now]
    assert len(plan.missed) == MISSED_RECORD_CAP and plan.missed_unrecorded > 0
    assert plan.next_run_at == now + timedelta(seconds=1)
