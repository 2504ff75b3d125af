"""The scheduler tick: turn due occurrences into runs, exactly once, in one transaction.

Every worker ticks; there is no leader. A tick selects jobs whose `next_run_at` has come
(the partial index `ix_jobs_due` keeps this proportional to due jobs, not all jobs), locks
them (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent ticks split the work; the
`BEGIN IMMEDIATE` write lock on SQLite), plans each job's runs under its misfire and
concurrency policies, inserts them, advances `next_run_at` and writes the feed events —
all in one transaction. Two ticks can never both materialise an occurrence: the row lock
serialises them, and `uq_runs_occurrence` would reject a second insert anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Job
from app.domain.misfire import DEFAULT_GRACE, plan_due
from app.feed.events import emit, event_row
from app.services.jobs import job_schedule
from app.services.runs import (
    active_runs,
    apply_concurrency,
    cancel_runs,
    insert_runs,
    new_run_row,
    run_events,
)

log = logging.getLogger("dts.tick")

BATCH = 500


@dataclass
class TickStats:
    jobs: int = 0
    queued: int = 0
    skipped: int = 0
    missed: int = 0

    def add(self, other: TickStats) -> None:
        self.jobs += other.jobs
        self.queued += other.queued
        self.skipped += other.skipped
        self.missed += other.missed


async def tick(db: Database, now: datetime, *, batch: int = BATCH) -> TickStats:
    """Materialise every occurrence due at `now`; returns what it did."""
    total = TickStats()
    while True:
        stats = await _tick_batch(db, now, batch)
        total.add(stats)
        if stats.jobs < batch:
            return total


async def _tick_batch(db: Database, now: datetime, batch: int) -> TickStats:
    stats = TickStats()
    async with db.transaction() as session:
        query = (
            select(Job)
            .where(Job.next_run_at <= now, Job.paused.is_(False))
            .order_by(Job.next_run_at)
            .limit(batch)
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        jobs = list((await session.scalars(query)).all())
        if not jobs:
            return stats
        stats.jobs = len(jobs)
        guarded = [job.id for job in jobs if job.concurrency != "allow"]
        active = await active_runs(session, guarded)

        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        cancel_queued: list[int] = []
        cancel_running: list[int] = []
        for job in jobs:
            assert job.next_run_at is not None
            try:
                schedule = job_schedule(job)
            except Exception as error:  # a stored schedule that no longer parses (tzdata?)
                log.error("job %s has an invalid schedule, pausing it: %s", job.id, error)
                job.paused, job.paused_at, job.next_run_at = True, now, None
                why = {"reason": f"invalid schedule: {error}"}
                events.append(
                    event_row("job.paused", job_id=job.id, owner_id=job.owner_id, payload=why)
                )
                continue
            plan = plan_due(
                schedule,
                job.next_run_at,
                now,
                policy=job.misfire,
                limit=job.misfire_limit,
            )
            decision = apply_concurrency(
                job, plan.queue, active.get(job.id, []), now=now, trigger="schedule"
            )
            if plan.catch_up and job.starting_deadline_seconds:
                # A catch-up run is late on purpose: its deadline counts from now.
                deadline = now + timedelta(seconds=job.starting_deadline_seconds)
                for row in decision.rows:
                    if row["scheduled_for"] < now - timedelta(seconds=DEFAULT_GRACE):
                        row["start_deadline_at"] = deadline
            for at in plan.missed:
                reason = f"missed: dts was not running at {at.isoformat()} (misfire: {job.misfire})"
                decision.rows.append(new_run_row(job, at, now=now, status="missed", error=reason))
            if plan.missed_unrecorded:
                count = {"unrecorded": plan.missed_unrecorded}
                events.append(
                    event_row("run.missed", job_id=job.id, owner_id=job.owner_id, payload=count)
                )
            cancel_queued += decision.cancel_queued
            cancel_running += decision.cancel_running
            rows += decision.rows
            last = max(plan.queue + plan.missed, default=None)
            if last is not None:
                job.last_scheduled_for = last
            job.next_run_at = plan.next_run_at

        events += await cancel_runs(
            session,
            cancel_queued,
            cancel_running,
            now=now,
            reason="cancelled: replaced by a newer occurrence (concurrency: replace)",
        )
        rows.sort(key=lambda row: (row["scheduled_for"], row["job_id"]))
        inserted = await insert_runs(session, rows)
        events += run_events(inserted)
        await emit(session, events)
        for row in inserted:
            if row["status"] == "queued":
                stats.queued += 1
            elif row["status"] == "skipped":
                stats.skipped += 1
            else:
                stats.missed += 1
    return stats


async def next_due_at(db: Database) -> datetime | None:
    """When the earliest job is due (an index lookup): how long a worker may sleep."""
    async with db.session() as session:
        return await session.scalar(select(func.min(Job.next_run_at)))
