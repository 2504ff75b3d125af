"""Retention: runs, logs and events older than DTS_RETENTION_DAYS go, in batches; the rest stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.db.models import Event, Run, RunLog
from tests.factories import add_user, http_job, services
from worker.claims import Outcome, append_logs, claim_runs, complete_run, prune_history
from worker.tick import tick

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def count(db, model) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_old_history_is_pruned_in_batches_and_recent_history_kept(
    db, settings, clock
) -> None:
    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, _ = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="* * * * *"))
    # Five runs, one a minute, each with two log lines; a 40-day pause; then two more.
    for minute in range(1, 8):
        if minute == 6:
            await jobs.set_paused(owner, job.id, True)
            clock.advance(days=40)
            await jobs.set_paused(owner, job.id, False)
        now = clock.advance(minutes=1)
        await tick(db, now)
        [run] = await claim_runs(db, "w1", 10, now, 30)
        await append_logs(db, "w1", run, 1, [(now, "stdout", "a"), (now, "stdout", "b")])
        await complete_run(db, "w1", run, Outcome(status="succeeded"), now)
    assert await count(db, Run) == 7 and await count(db, RunLog) == 14

    removed = await prune_history(db, clock.now() - timedelta(days=30), batch=2)
    async with db.session() as session:
        kept = list(await session.scalars(select(Run.finished_at).order_by(Run.id)))
        oldest_event = await session.scalar(select(func.min(Event.created_at)))
    assert removed > 0
    assert len(kept) == 2 and all(t > clock.now() - timedelta(days=30) for t in kept)
    assert await count(db, RunLog) == 4
    assert oldest_event is not None and oldest_event > clock.now() - timedelta(days=30)
