"""The scheduler's look-ahead: `allow` jobs' occurrences are queued shortly before their
time, to run at it; forbid/replace jobs are decided at their time; pausing or changing the
schedule cancels what was queued ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.db.engine import Database
from app.db.models import Run
from tests.conftest import FakeClock
from tests.factories import add_user, http_job, services
from worker.claims import claim_runs
from worker.tick import tick

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DUE = T0 + timedelta(minutes=5)
BEFORE = DUE - timedelta(seconds=0.6)


async def runs_of(db: Database, job_id: int) -> list[Run]:
    async with db.session() as session:
        rows = await session.scalars(select(Run).where(Run.job_id == job_id).order_by(Run.id))
        return list(rows.all())


async def test_allow_jobs_are_queued_ahead_to_run_at_their_time(
    db, settings, clock: FakeClock
) -> None:
    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    allow = await jobs.create_job(owner, http_job(name="a", cron="*/5 * * * *"))
    forbid = await jobs.create_job(
        owner, http_job(name="f", cron="*/5 * * * *", concurrency="forbid")
    )

    assert (await tick(db, BEFORE)).queued == 0  # no look-ahead: nothing yet
    stats = await tick(db, BEFORE, lookahead=1.0)
    assert stats.queued == 1
    [run] = await runs_of(db, allow.id)
    assert run.scheduled_for == DUE and run.run_after == DUE and run.status == "queued"
    assert await runs_of(db, forbid.id) == []  # decided at its time only
    # Not claimable before its time; claimed at it.
    assert await claim_runs(db, "w1", 10, BEFORE, 30) == []
    [claimed] = await claim_runs(db, "w1", 10, DUE, 30)
    assert claimed.id == run.id
    # At its time the forbid job gets its run; the allow job is not queued twice.
    assert (await tick(db, DUE, lookahead=1.0)).queued == 1
    assert len(await runs_of(db, allow.id)) == 1
    assert len(await runs_of(db, forbid.id)) == 1


async def test_pausing_or_rescheduling_cancels_runs_queued_ahead(
    db, settings, clock: FakeClock
) -> None:
    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    paused = await jobs.create_job(owner, http_job(name="p", cron="*/5 * * * *"))
    moved = await jobs.create_job(owner, http_job(name="m", cron="*/5 * * * *"))
    assert (await tick(db, BEFORE, lookahead=1.0)).queued == 2

    clock.set(BEFORE + timedelta(seconds=0.1))
    await jobs.set_paused(owner, paused.id, True)
    await jobs.update_job(owner, moved.id, {"schedule": "*/7 * * * *"})
    for job in (paused, moved):
        [run] = await runs_of(db, job.id)
        assert run.status == "cancelled", run.error
        assert "paused" in (run.error or "") or "schedule changed" in (run.error or "")
    assert await claim_runs(db, "w1", 10, DUE, 30) == []
