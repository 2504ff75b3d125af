"""Runs: creating them under the concurrency policy, cancelling, retrying, reading history.

Run creation for a job always happens with the job's row locked (`FOR UPDATE` on
PostgreSQL, the BEGIN IMMEDIATE write lock on SQLite): the scheduler tick, manual triggers
and retries are serialised per job, so "is a run of this job active?" cannot race and
`forbid` holds across any number of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db.engine import Database
from app.db.models import ACTIVE_STATUSES, RUN_STATUSES, Job, Run, RunLog
from app.db.types import utcnow
from app.domain.errors import Conflict, NotFound, ValidationError
from app.feed.events import emit, event_row
from app.services import audit
from app.services.access import Principal, ensure_can_change, ensure_can_read, owner_filter

Clock = Callable[[], datetime]
FINAL_STATUSES = tuple(s for s in RUN_STATUSES if s not in ACTIVE_STATUSES)
MAX_PAGE = 200


def status_payload(
    status: str, attempt: int, trigger: str, scheduled_for: datetime | None, **extra: Any
) -> dict[str, Any]:
    """The payload of a run event: what a subscriber needs without another query."""
    return {
        "status": status,
        "attempt": attempt,
        "trigger": trigger,
        "scheduledFor": scheduled_for.isoformat() if scheduled_for else None,
        **extra,
    }


def run_payload(run: Run | dict[str, Any]) -> dict[str, Any]:
    if isinstance(run, dict):
        return status_payload(
            run["status"], run["attempt"], run["trigger"], run.get("scheduled_for")
        )
    return status_payload(run.status, run.attempt, run.trigger, run.scheduled_for)


class JobRef(Protocol):
    """What run creation needs of a job (an ORM Job or a Core row both fit)."""

    id: int
    owner_id: int
    starting_deadline_seconds: float | None


def new_run_row(
    job: JobRef,
    scheduled_for: datetime,
    *,
    now: datetime,
    trigger: str = "schedule",
    status: str = "queued",
    error: str | None = None,
    attempt: int = 1,
    root_run_id: int | None = None,
    run_after: datetime | None = None,
) -> dict[str, Any]:
    deadline = job.starting_deadline_seconds
    final = status not in ACTIVE_STATUSES
    return {
        "job_id": job.id,
        "owner_id": job.owner_id,
        "scheduled_for": scheduled_for,
        "attempt": attempt,
        "root_run_id": root_run_id,
        "trigger": trigger,
        "status": status,
        "run_after": run_after or scheduled_for,
        "start_deadline_at": scheduled_for + timedelta(seconds=deadline) if deadline else None,
        "queued_at": now,
        "finished_at": now if final else None,
        "error": error,
        "cancel_requested": False,
        "log_lines": 0,
        "log_bytes": 0,
        "log_truncated": False,
    }


@dataclass
class ConcurrencyDecision:
    rows: list[dict[str, Any]]
    cancel_queued: list[int]  # active queued runs to cancel outright
    cancel_running: list[int]  # running runs to ask their worker to stop


class PolicyJobRef(JobRef, Protocol):
    """What the concurrency policy needs of a job (an ORM Job or a Core row)."""

    concurrency: str


def apply_concurrency(
    job: PolicyJobRef,
    occurrences: Sequence[datetime],
    active: Sequence[tuple[int, str]],
    *,
    now: datetime,
    trigger: str,
) -> ConcurrencyDecision:
    """Turn due occurrences into run rows under the job's concurrency policy.

    `active` lists the job's (run id, status) that are queued or running.
    """
    decision = ConcurrencyDecision([], [], [])
    busy = bool(active)
    for index, at in enumerate(occurrences):
        last = index == len(occurrences) - 1
        if job.concurrency == "forbid" and busy:
            decision.rows.append(
                new_run_row(
                    job,
                    at,
                    now=now,
                    trigger=trigger,
                    status="skipped",
                    error="skipped: another run of this job is still active (concurrency: forbid)",
                )
            )
            continue
        if job.concurrency == "replace" and not last:
            decision.rows.append(
                new_run_row(
                    job,
                    at,
                    now=now,
                    trigger=trigger,
                    status="skipped",
                    error="skipped: replaced by a newer occurrence (concurrency: replace)",
                )
            )
            continue
        decision.rows.append(new_run_row(job, at, now=now, trigger=trigger))
        busy = True
    if job.concurrency == "replace" and occurrences:
        decision.cancel_queued = [rid for rid, status in active if status == "queued"]
        decision.cancel_running = [rid for rid, status in active if status == "running"]
    return decision


# Statements on the manual-trigger path, built once: building one costs about as much CPU
# as executing it (SQLAlchemy compiles each only once either way; the values are bound).
_ACTIVE_RUNS = select(Run.job_id, Run.id, Run.status).where(
    Run.job_id.in_(bindparam("job_ids", expanding=True)), Run.status.in_(ACTIVE_STATUSES)
)
_JOB = select(Job).where(Job.id == bindparam("job_id"))
_JOB_FOR_UPDATE = _JOB.with_for_update()
_INSERT_RUN = insert(Run).returning(Run)


async def active_runs(
    session: AsyncSession | AsyncConnection, job_ids: Sequence[int]
) -> dict[int, list[tuple[int, str]]]:
    if not job_ids:
        return {}
    rows = await session.execute(_ACTIVE_RUNS, {"job_ids": list(job_ids)})
    found: dict[int, list[tuple[int, str]]] = {}
    for job_id, run_id, status in rows:
        found.setdefault(job_id, []).append((run_id, status))
    return found


async def cancel_runs(
    session: AsyncSession | AsyncConnection,
    queued: Sequence[int],
    running: Sequence[int],
    *,
    now: datetime,
    reason: str,
) -> list[dict[str, Any]]:
    """Cancel queued runs at once and flag running ones for their worker; returns events."""
    events: list[dict[str, Any]] = []
    if queued:
        result = await session.execute(
            update(Run)
            .where(Run.id.in_(queued), Run.status == "queued")
            .values(status="cancelled", finished_at=now, error=reason)
            .returning(
                Run.id, Run.job_id, Run.owner_id, Run.attempt, Run.trigger, Run.scheduled_for
            )
        )
        for run_id, job_id, owner_id, attempt, trigger, scheduled in result:
            events.append(
                event_row(
                    "run.cancelled",
                    job_id=job_id,
                    run_id=run_id,
                    owner_id=owner_id,
                    payload=status_payload("cancelled", attempt, trigger, scheduled),
                )
            )
    if running:
        await session.execute(
            update(Run)
            .where(Run.id.in_(running), Run.status == "running")
            .values(cancel_requested=True, error=reason)
        )
    return events


async def cancel_future_runs(
    session: AsyncSession | AsyncConnection, job_id: int, *, now: datetime, reason: str
) -> list[dict[str, Any]]:
    """Cancel a job's scheduled runs queued ahead of their time (the scheduler's
    look-ahead) when the schedule they came from no longer holds: paused or changed."""
    ids = (
        await session.execute(
            select(Run.id).where(
                Run.job_id == job_id,
                Run.status == "queued",
                Run.trigger == "schedule",
                Run.run_after > now,
            )
        )
    ).scalars()
    return await cancel_runs(session, list(ids), [], now=now, reason=reason)


async def insert_runs(
    session: AsyncSession | AsyncConnection, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Insert run rows; return them with ids, plus their feed events appended by the caller."""
    if not rows:
        return []
    result = await session.execute(
        Run.__table__.insert().returning(Run.__table__.c.id, sort_by_parameter_order=True),  # type: ignore[attr-defined]
        rows,
    )
    ids = [row[0] for row in result]
    for row, run_id in zip(rows, ids, strict=True):
        row["id"] = run_id
    return rows


async def insert_run(session: AsyncSession, row: dict[str, Any]) -> Run:
    """Insert one run row and return it as the database has it (INSERT … RETURNING: no
    second read); `row` gets its id, as `insert_runs` does."""
    run = (await session.scalars(_INSERT_RUN, [row])).one()
    row["id"] = run.id
    return run


def run_events(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = {"queued": "run.queued", "skipped": "run.skipped", "missed": "run.missed"}
    return [
        event_row(
            kinds.get(row["status"], "run.queued"),
            job_id=row["job_id"],
            run_id=row["id"],
            owner_id=row["owner_id"],
            payload=run_payload(row),
        )
        for row in rows
    ]


async def lock_job(session: AsyncSession, db: Database, job_id: int) -> Job | None:
    query = _JOB_FOR_UPDATE if db.is_postgres else _JOB
    return (await session.scalars(query, {"job_id": job_id})).one_or_none()


class RunService:
    def __init__(
        self,
        db: Database,
        clock: Clock = utcnow,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        # Wakes an in-process worker (`dts up`) at once; PostgreSQL workers get a NOTIFY.
        self.on_queued = on_queued or (lambda: None)

    async def trigger_job(self, principal: Principal, job_id: int, *, ip: str | None = None) -> Run:
        """Queue a run now (manual trigger), subject to the job's concurrency policy."""
        now = self.clock()
        async with self.db.transaction() as session:
            job = await lock_job(session, self.db, job_id)
            if job is None:
                raise NotFound("job not found", field="id")
            ensure_can_change(principal, job.owner_id, job.type)
            active = (await active_runs(session, [job.id])).get(job.id, [])
            decision = apply_concurrency(job, [now], active, now=now, trigger="manual")
            events = await cancel_runs(
                session,
                decision.cancel_queued,
                decision.cancel_running,
                now=now,
                reason="cancelled: replaced by a manual trigger (concurrency: replace)",
            )
            (row,) = decision.rows  # one occurrence: one run, queued or skipped
            run = await insert_run(session, row)
            await emit(session, [*events, *run_events([row])])
            await audit.write(
                session, principal, "job.trigger", "job", job.id, {"runId": run.id}, ip
            )
        self.on_queued()
        return run

    async def get_run(self, principal: Principal, run_id: int) -> Run:
        async with self.db.session() as session:
            run = await session.get(Run, run_id)
        if run is None:
            raise NotFound("run not found", field="id")
        ensure_can_read(principal, run.owner_id, "run")
        return run

    async def list_runs(
        self,
        principal: Principal,
        *,
        job_id: int | None = None,
        statuses: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        first: int = 50,
        after_id: int | None = None,
    ) -> tuple[list[Run], bool]:
        """Newest first; `after_id` is the cursor (the last id of the previous page)."""
        if not 1 <= first <= MAX_PAGE:
            raise ValidationError(f"must be from 1 to {MAX_PAGE}, got {first}", field="first")
        for status in statuses or ():
            if status not in RUN_STATUSES:
                raise ValidationError(
                    f"unknown status {status!r}; expected one of {', '.join(RUN_STATUSES)}",
                    field="status",
                )
        query = select(Run).where(owner_filter(principal, Run.owner_id))
        if job_id is not None:
            query = query.where(Run.job_id == job_id)
        if statuses:
            query = query.where(Run.status.in_(statuses))
        if since is not None:
            query = query.where(Run.scheduled_for >= since)
        if until is not None:
            query = query.where(Run.scheduled_for < until)
        if after_id is not None:
            query = query.where(Run.id < after_id)
        query = query.order_by(Run.id.desc()).limit(first + 1)
        async with self.db.session() as session:
            runs = list((await session.scalars(query)).all())
        return runs[:first], len(runs) > first

    async def attempts(self, principal: Principal, run_id: int) -> list[Run]:
        """Every attempt of the run's occurrence, first to last."""
        run = await self.get_run(principal, run_id)
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Run)
                .where(Run.job_id == run.job_id, Run.scheduled_for == run.scheduled_for)
                .order_by(Run.attempt)
            )
            return list(rows.all())

    async def logs(
        self, principal: Principal, run_id: int, *, after_seq: int = 0, limit: int = 500
    ) -> list[RunLog]:
        await self.get_run(principal, run_id)
        async with self.db.session() as session:
            rows = await session.scalars(
                select(RunLog)
                .where(RunLog.run_id == run_id, RunLog.seq > after_seq)
                .order_by(RunLog.seq)
                .limit(min(max(limit, 1), 5000))
            )
            return list(rows.all())

    async def cancel_run(self, principal: Principal, run_id: int, *, ip: str | None = None) -> Run:
        now = self.clock()
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("run not found", field="id")
            job = await session.get(Job, run.job_id)
            ensure_can_change(principal, run.owner_id, job.type if job else "http", "run")
            if run.status not in ACTIVE_STATUSES:
                raise Conflict(f"run {run_id} already finished ({run.status})", field="id")
            events = await cancel_runs(
                session,
                [run.id] if run.status == "queued" else [],
                [run.id] if run.status == "running" else [],
                now=now,
                reason=f"cancelled by {principal.email}",
            )
            await emit(session, events)
            audit.record(session, principal, "run.cancel", "run", run.id, None, ip)
        async with self.db.session() as session:
            fresh = await session.get(Run, run_id)
        assert fresh is not None
        return fresh

    async def retry_run(self, principal: Principal, run_id: int, *, ip: str | None = None) -> Run:
        """Queue a new attempt of a finished run's occurrence now (same Idempotency-Key)."""
        now = self.clock()
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("run not found", field="id")
            job = await lock_job(session, self.db, run.job_id)
            if job is None:
                raise NotFound("run not found", field="id")
            ensure_can_change(principal, job.owner_id, job.type, "run")
            if run.status in ACTIVE_STATUSES:
                raise Conflict(f"run {run_id} is still {run.status}", field="id")
            latest = await session.scalar(
                select(func.max(Run.attempt)).where(
                    Run.job_id == run.job_id, Run.scheduled_for == run.scheduled_for
                )
            )
            active = (await active_runs(session, [job.id])).get(job.id, [])
            if job.concurrency == "forbid" and active:
                raise Conflict(
                    "another run of this job is active and its concurrency policy is forbid",
                    field="id",
                )
            row = new_run_row(
                job,
                run.scheduled_for,
                now=now,
                trigger="retry",
                attempt=(latest or run.attempt) + 1,
                root_run_id=run.root_run_id or run.id,
                run_after=now,
            )
            row["start_deadline_at"] = None
            rows = await insert_runs(session, [row])
            await emit(session, run_events(rows))
            audit.record(
                session, principal, "run.retry", "run", run.id, {"newRunId": row["id"]}, ip
            )
            new = await session.get(Run, row["id"])
            assert new is not None
        self.on_queued()
        return new

    async def counts_by_job(
        self, job_ids: Sequence[int], *, recent: int = 50
    ) -> dict[int, dict[str, int]]:
        """Run counts per status for each job (for success rates on the job list)."""
        if not job_ids:
            return {}
        async with self.db.session() as session:
            rows = await session.execute(
                select(Run.job_id, Run.status, func.count())
                .where(Run.job_id.in_(job_ids))
                .group_by(Run.job_id, Run.status)
            )
            counts: dict[int, dict[str, int]] = {}
            for job_id, status, count in rows:
                counts.setdefault(job_id, {})[status] = count
        return counts


__all__ = ["FINAL_STATUSES", "RunService"]
