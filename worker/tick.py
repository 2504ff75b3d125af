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
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update

from app.db.engine import Database
from app.db.models import Job
from app.domain.misfire import DEFAULT_GRACE, Plan, plan_due
from app.domain.schedule import Schedule, schedule_from_fields
from app.feed.events import emit, event_row
from app.services import alerts
from app.services.monitors import check_monitors, next_monitor_deadline
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
    monitors: int = 0  # heartbeat monitor transitions this tick made (late, down)

    def add(self, other: TickStats) -> None:
        self.jobs += other.jobs
        self.queued += other.queued
        self.skipped += other.skipped
        self.missed += other.missed
        self.monitors += other.monitors


async def tick(
    db: Database, now: datetime, *, batch: int = BATCH, lookahead: float = 0.0
) -> TickStats:
    """Materialise every occurrence due at `now`; returns what it did.

    With `lookahead` (seconds), occurrences of `allow` jobs due up to then are queued now,
    each to run at its time (`run_after = scheduled_for`): a claimer sleeping until the
    next queued run starts it on the dot, where a tick at that instant would first have to
    plan and insert it (hundreds of ms for a thousand jobs due together). `forbid` and
    `replace` jobs are decided at their time, against the runs active then.
    """
    total = TickStats()
    while True:
        stats = await _tick_batch(db, now, batch, lookahead)
        total.add(stats)
        if stats.jobs < batch:
            break
    # Heartbeat monitors past their deadline: late, down, ran too long (exactly once).
    total.monitors = await check_monitors(db, now, batch=batch)
    return total


# What the tick reads of a job: no ORM objects (the tick is on every worker's hot path).
JOBS: Table = Job.__table__  # type: ignore[assignment]
_TICK_COLUMNS = (
    JOBS.c.id,
    JOBS.c.owner_id,
    JOBS.c.next_run_at,
    JOBS.c.schedule_kind,
    JOBS.c.cron,
    JOBS.c.timezone,
    JOBS.c.interval_seconds,
    JOBS.c.anchor_at,
    JOBS.c.run_at,
    JOBS.c.misfire,
    JOBS.c.misfire_limit,
    JOBS.c.concurrency,
    JOBS.c.starting_deadline_seconds,
)
_ADVANCE = (
    update(JOBS)
    .where(JOBS.c.id == bindparam("j_id"))
    .values(
        next_run_at=bindparam("j_next", type_=JOBS.c.next_run_at.type),
        last_scheduled_for=func.coalesce(
            bindparam("j_last", type_=JOBS.c.last_scheduled_for.type),
            JOBS.c.last_scheduled_for,
        ),
    )
)


@lru_cache(maxsize=4096)
def _schedule(
    kind: str | None,
    cron: str | None,
    timezone: str | None,
    every: float | None,
    anchor: datetime | None,
    at: datetime | None,
) -> Schedule:
    """Parsed once per distinct schedule, not once per job per tick: many jobs share an
    expression (`*/5 * * * *`), and parsing is a good part of planning."""
    return schedule_from_fields(
        kind=kind, cron=cron, timezone=timezone, every_seconds=every, anchor=anchor, at=at
    )


async def _tick_batch(db: Database, now: datetime, batch: int, lookahead: float) -> TickStats:
    stats = TickStats()
    horizon = now + timedelta(seconds=lookahead)
    async with db.write_connection() as conn:
        due = JOBS.c.next_run_at <= now
        if lookahead > 0:
            due = and_(
                JOBS.c.next_run_at <= horizon,
                or_(JOBS.c.next_run_at <= now, JOBS.c.concurrency == "allow"),
            )
        query = (
            select(*_TICK_COLUMNS)
            .where(due, JOBS.c.paused.is_(False))
            .order_by(JOBS.c.next_run_at)
            .limit(batch)
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        jobs = (await conn.execute(query)).all()
        if not jobs:
            return stats
        stats.jobs = len(jobs)
        guarded = [job.id for job in jobs if job.concurrency != "allow"]
        active = await active_runs(conn, guarded)

        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        cancel_queued: list[int] = []
        cancel_running: list[int] = []
        advance: list[dict[str, Any]] = []
        plans: dict[tuple[Any, ...], Plan] = {}  # jobs alike in schedule and due time
        for job in jobs:
            assert job.next_run_at is not None
            key = (
                job.schedule_kind,
                job.cron,
                job.timezone,
                job.interval_seconds,
                job.anchor_at,
                job.run_at,
            )
            try:
                schedule = _schedule(*key)
            except Exception as error:  # a stored schedule that no longer parses (tzdata?)
                log.error("job %s has an invalid schedule, pausing it: %s", job.id, error)
                await conn.execute(
                    update(JOBS)
                    .where(JOBS.c.id == job.id)
                    .values(paused=True, paused_at=now, next_run_at=None)
                )
                why = {"reason": f"invalid schedule: {error}"}
                events.append(
                    event_row("job.paused", job_id=job.id, owner_id=job.owner_id, payload=why)
                )
                continue
            until = horizon if job.concurrency == "allow" else now
            plan_key = (*key, job.next_run_at, until, job.misfire, job.misfire_limit)
            plan = plans.get(plan_key)
            if plan is None:  # read-only from here on: shared by every job with this key
                plan = plans[plan_key] = plan_due(
                    schedule,
                    job.next_run_at,
                    until,
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
            advance.append({"j_id": job.id, "j_next": plan.next_run_at, "j_last": last})

        if advance:
            await conn.execute(_ADVANCE, advance)
        events += await cancel_runs(
            conn,
            cancel_queued,
            cancel_running,
            now=now,
            reason="cancelled: replaced by a newer occurrence (concurrency: replace)",
        )
        rows.sort(key=lambda row: (row["scheduled_for"], row["job_id"]))
        inserted = await insert_runs(conn, rows)
        events += run_events(inserted)
        await emit(conn, events)
        outcomes = [
            outcome
            for row in inserted
            if row["status"] != "queued"
            and (
                outcome := alerts.run_outcome(
                    job_id=row["job_id"],
                    owner_id=row["owner_id"],
                    run_id=row["id"],
                    root_run_id=row.get("root_run_id"),
                    status=row["status"],
                    error=row.get("error"),
                    at=now,
                )
            )
        ]
        if outcomes:
            await conn.run_sync(lambda sync: alerts.apply_outcomes(sync, outcomes))
        for row in inserted:
            if row["status"] == "queued":
                stats.queued += 1
            elif row["status"] == "skipped":
                stats.skipped += 1
            else:
                stats.missed += 1
    return stats


async def next_due_at(db: Database) -> datetime | None:
    """When the earliest job or monitor deadline is due (index lookups): how long a worker
    may sleep."""
    async with db.session() as session:
        job_due = await session.scalar(select(func.min(Job.next_run_at)))
    monitor_due = await next_monitor_deadline(db)
    return min((t for t in (job_due, monitor_due) if t is not None), default=None)
