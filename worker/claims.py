"""Claims and leases: how a worker takes runs, keeps them, finishes them — fenced.

Every write a worker makes about a run is conditioned on `worker_id = me AND status =
'running'`. A worker that lost its lease (paused, partitioned, slow) and whose run was
recovered elsewhere finds its late writes matching no row: they are logged and dropped,
never applied over the recovery's outcome.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, or_, select, update

from app.db.engine import Database
from app.db.models import Job, Run, RunLog, Worker
from app.domain.retry import RetryPolicy, retry_delay
from app.feed.events import emit, event_row
from app.services.runs import (
    JobRef,
    insert_runs,
    new_run_row,
    run_events,
    run_payload,
    status_payload,
)

log = logging.getLogger("dts.claims")

# Core statements on the table: these sessions hold no loaded Run objects, so the ORM's
# session synchronisation after each UPDATE would be pure cost on the hot path.
RUNS: Table = Run.__table__  # type: ignore[assignment]
RUN_LOGS: Table = RunLog.__table__  # type: ignore[assignment]


@dataclass
class ClaimedRun:
    id: int
    job_id: int
    owner_id: int
    attempt: int
    root_run_id: int | None
    scheduled_for: datetime
    trigger: str
    job_type: str
    job_spec: dict[str, Any]
    timeout_seconds: float
    retry: RetryPolicy
    job_name: str
    log_lines: int = 0  # lines already logged (a handed-back run continues its sequence)

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of one occurrence: the first attempt's run id."""
        return f"dts-run-{self.root_run_id or self.id}"


@dataclass
class Outcome:
    status: str  # succeeded | failed | timed_out | cancelled
    http_status: int | None = None
    exit_code: int | None = None
    error: str | None = None
    output: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    log_truncated: bool = False


@dataclass
class PendingLogs:
    """Log lines not yet written, to go in with the outcome (see RunLogWriter.close)."""

    first_seq: int
    lines: list[tuple[datetime, str, str]]
    truncated: bool = False


def _log_rows(
    run: ClaimedRun, first_seq: int, lines: list[tuple[datetime, str, str]]
) -> list[dict[str, Any]]:
    return [
        {"run_id": run.id, "seq": first_seq + i, "ts": ts, "stream": stream, "text": text}
        for i, (ts, stream, text) in enumerate(lines)
    ]


def _log_event(run: ClaimedRun, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return event_row(
        "run.log",
        job_id=run.job_id,
        run_id=run.id,
        owner_id=run.owner_id,
        payload={
            "fromSeq": rows[0]["seq"],
            "toSeq": rows[-1]["seq"],
            "lines": [
                {
                    "seq": r["seq"],
                    "ts": r["ts"].isoformat(),
                    "stream": r["stream"],
                    "text": r["text"],
                }
                for r in rows
            ],
        },
    )


async def claim_runs(
    db: Database, worker_id: str, limit: int, now: datetime, lease_seconds: float
) -> list[ClaimedRun]:
    """Take up to `limit` due queued runs; runs past their starting deadline become missed."""
    if limit <= 0:
        return []
    lease = now + timedelta(seconds=lease_seconds)
    async with db.transaction() as session:
        expired = await session.execute(
            update(RUNS)
            .where(Run.status == "queued", Run.start_deadline_at < now)
            .values(
                status="missed",
                finished_at=now,
                error="missed: not started before the job's starting deadline",
            )
            .returning(
                Run.id, Run.job_id, Run.owner_id, Run.attempt, Run.trigger, Run.scheduled_for
            )
        )
        events = [
            event_row(
                "run.missed",
                job_id=job_id,
                run_id=run_id,
                owner_id=owner_id,
                payload=status_payload("missed", attempt, trigger, scheduled),
            )
            for run_id, job_id, owner_id, attempt, trigger, scheduled in expired
        ]
        picked = (
            select(Run.id)
            .where(
                Run.status == "queued",
                Run.run_after <= now,
                or_(Run.start_deadline_at.is_(None), Run.start_deadline_at >= now),
            )
            .order_by(Run.run_after)  # the claim index's order: no sort of the whole queue
            .limit(limit)
        )
        if db.is_postgres:
            picked = picked.with_for_update(skip_locked=True)
        result = await session.execute(
            update(RUNS)
            .where(Run.id.in_(picked.scalar_subquery()))
            .values(status="running", worker_id=worker_id, lease_expires_at=lease, started_at=now)
            .returning(
                Run.id,
                Run.job_id,
                Run.owner_id,
                Run.attempt,
                Run.root_run_id,
                Run.scheduled_for,
                Run.trigger,
                Run.log_lines,
            )
        )
        claimed_rows = list(result)
        claimed: list[ClaimedRun] = []
        if claimed_rows:
            job_ids = {row.job_id for row in claimed_rows}
            jobs = {
                job.id: job for job in await session.scalars(select(Job).where(Job.id.in_(job_ids)))
            }
            for row in claimed_rows:
                job = jobs[row.job_id]
                claimed.append(
                    ClaimedRun(
                        id=row.id,
                        job_id=row.job_id,
                        owner_id=row.owner_id,
                        attempt=row.attempt,
                        root_run_id=row.root_run_id,
                        scheduled_for=row.scheduled_for,
                        trigger=row.trigger,
                        job_type=job.type,
                        job_spec=job.spec,
                        timeout_seconds=job.timeout_seconds,
                        retry=RetryPolicy(
                            max_attempts=job.max_attempts,
                            initial_delay=job.retry_initial_delay,
                            max_delay=job.retry_max_delay,
                            multiplier=job.retry_multiplier,
                        ),
                        job_name=job.name,
                        log_lines=row.log_lines,
                    )
                )
                events.append(
                    event_row(
                        "run.started",
                        job_id=row.job_id,
                        run_id=row.id,
                        owner_id=row.owner_id,
                        payload=status_payload(
                            "running",
                            row.attempt,
                            row.trigger,
                            row.scheduled_for,
                            workerId=worker_id,
                            startedAt=now.isoformat(),
                        ),
                    )
                )
        await emit(session, events)
    return claimed


async def next_queued_at(db: Database, now: datetime) -> datetime | None:
    """When the next queued run becomes due (e.g. a retry's backoff), if any is waiting."""
    async with db.session() as session:
        return await session.scalar(
            select(func.min(Run.run_after)).where(Run.status == "queued", Run.run_after > now)
        )


def _retry_row(
    session_job: JobRef, run: ClaimedRun | Run, now: datetime, delay: float
) -> dict[str, Any]:
    row = new_run_row(
        session_job,
        run.scheduled_for,
        now=now,
        trigger="retry",
        attempt=run.attempt + 1,
        root_run_id=run.root_run_id or run.id,
        run_after=now + timedelta(seconds=delay),
    )
    row["start_deadline_at"] = None
    return row


async def complete_run(
    db: Database,
    worker_id: str,
    run: ClaimedRun,
    outcome: Outcome,
    now: datetime,
    *,
    rng: random.Random | None = None,
    logs: PendingLogs | None = None,
) -> bool:
    """Record the outcome (and queue a retry if the policy says so). False if fenced off.

    `logs`, the run's last unwritten lines, are written in the same transaction, before
    the outcome's event, so a log subscriber has every line when it hears the run ended.
    """
    lines = logs.lines if logs else []
    size = sum(len(text) for _, _, text in lines)
    truncated = outcome.log_truncated or bool(logs and logs.truncated)
    async with db.write_connection() as conn:
        done = await conn.execute(
            update(RUNS)
            .where(Run.id == run.id, Run.worker_id == worker_id, Run.status == "running")
            .values(
                status=outcome.status,
                finished_at=now,
                http_status=outcome.http_status,
                exit_code=outcome.exit_code,
                error=outcome.error,
                output=outcome.output,
                lease_expires_at=None,
                log_lines=Run.log_lines + len(lines),
                log_bytes=Run.log_bytes + size,
                log_truncated=Run.log_truncated | truncated,
            )
            .returning(Run.id, Run.started_at)
        )
        row = done.first()
        if row is None:
            log.warning(
                "run %s: result from worker %s refused: it no longer holds the lease "
                "(the run was recovered, cancelled or deleted); outcome %s dropped",
                run.id,
                worker_id,
                outcome.status,
            )
            return False
        events: list[dict[str, Any]] = []
        if logs and lines:
            rows = _log_rows(run, logs.first_seq, lines)
            await conn.execute(insert(RUN_LOGS), rows)
            events.append(_log_event(run, rows))
        events += [
            event_row(
                "run.finished" if outcome.status != "cancelled" else "run.cancelled",
                job_id=run.job_id,
                run_id=run.id,
                owner_id=run.owner_id,
                payload=status_payload(
                    outcome.status,
                    run.attempt,
                    run.trigger,
                    run.scheduled_for,
                    finishedAt=now.isoformat(),
                    startedAt=row.started_at.isoformat() if row.started_at else None,
                    httpStatus=outcome.http_status,
                    exitCode=outcome.exit_code,
                    error=outcome.error,
                ),
            )
        ]
        if (
            outcome.status != "cancelled"
            and outcome.retryable
            and run.attempt < run.retry.max_attempts
        ):
            job = (
                await conn.execute(
                    select(Job.id, Job.owner_id, Job.starting_deadline_seconds).where(
                        Job.id == run.job_id
                    )
                )
            ).first()
            if job is not None:
                delay = retry_delay(run.retry, run.attempt, outcome.retry_after, rng)
                retries = await insert_runs(conn, [_retry_row(job, run, now, delay)])
                events += run_events(retries)
        await emit(conn, events)
    return True


async def append_logs(
    db: Database,
    worker_id: str,
    run: ClaimedRun,
    first_seq: int,
    lines: list[tuple[datetime, str, str]],
    *,
    truncated: bool = False,
) -> bool:
    """Write log lines (seq from `first_seq`), fenced on the lease; one feed event per batch."""
    if not lines:
        return True
    size = sum(len(text) for _, _, text in lines)
    async with db.write_connection() as conn:
        owned = await conn.execute(
            update(RUNS)
            .where(Run.id == run.id, Run.worker_id == worker_id, Run.status == "running")
            .values(
                log_lines=Run.log_lines + len(lines),
                log_bytes=Run.log_bytes + size,
                log_truncated=Run.log_truncated | truncated,
            )
            .returning(Run.id)
        )
        if owned.first() is None:
            return False
        rows = _log_rows(run, first_seq, lines)
        await conn.execute(insert(RUN_LOGS), rows)
        await emit(conn, [_log_event(run, rows)])
    return True


async def heartbeat(
    db: Database,
    worker_id: str,
    run_ids: list[int],
    now: datetime,
    lease_seconds: float,
    capacity: int,
) -> tuple[set[int], set[int]]:
    """Extend the leases of our runs. Returns (runs still ours, runs asked to cancel)."""
    owned: set[int] = set()
    cancel: set[int] = set()
    async with db.transaction() as session:
        if run_ids:
            result = await session.execute(
                update(RUNS)
                .where(Run.id.in_(run_ids), Run.worker_id == worker_id, Run.status == "running")
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
                .returning(Run.id, Run.cancel_requested)
            )
            for run_id, cancel_requested in result:
                owned.add(run_id)
                if cancel_requested:
                    cancel.add(run_id)
        await session.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(last_heartbeat_at=now, running=len(run_ids), capacity=capacity)
        )
    return owned, cancel


async def recover_expired(db: Database, now: datetime, *, limit: int = 200) -> int:
    """Mark runs whose worker stopped heart-beating as `lost`, and retry them per policy."""
    async with db.transaction() as session:
        query = (
            select(Run)
            .where(Run.status == "running", Run.lease_expires_at < now)
            .order_by(Run.lease_expires_at)
            .limit(limit)
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        runs = list((await session.scalars(query)).all())
        if not runs:
            return 0
        jobs = {
            job.id: job
            for job in await session.scalars(
                select(Job).where(Job.id.in_({r.job_id for r in runs}))
            )
        }
        events: list[dict[str, Any]] = []
        retries: list[dict[str, Any]] = []
        for run in runs:
            expired_at = run.lease_expires_at
            run.status = "lost"
            run.finished_at = now
            run.error = (
                f"lost: worker {run.worker_id} stopped renewing its lease "
                f"(expired {expired_at.isoformat() if expired_at else '?'})"
            )
            run.lease_expires_at = None
            events.append(
                event_row(
                    "run.finished",
                    job_id=run.job_id,
                    run_id=run.id,
                    owner_id=run.owner_id,
                    payload={**run_payload(run), "error": run.error, "finishedAt": now.isoformat()},
                )
            )
            job = jobs.get(run.job_id)
            if job is not None and run.attempt < job.max_attempts and not run.cancel_requested:
                policy = RetryPolicy(
                    max_attempts=job.max_attempts,
                    initial_delay=job.retry_initial_delay,
                    max_delay=job.retry_max_delay,
                    multiplier=job.retry_multiplier,
                )
                retries.append(
                    _retry_row(job, run, now, retry_delay(policy, run.attempt, None, None))
                )
        await session.flush()
        inserted = await insert_runs(session, retries)
        events += run_events(inserted)
        await emit(session, events)
        log.warning("recovered %d run(s) whose worker stopped heart-beating", len(runs))
        return len(runs)


async def release_run(db: Database, worker_id: str, run: ClaimedRun, now: datetime) -> bool:
    """Hand a run back to the queue (graceful shutdown ran out of time): same attempt."""
    async with db.transaction() as session:
        result = await session.execute(
            update(RUNS)
            .where(Run.id == run.id, Run.worker_id == worker_id, Run.status == "running")
            .values(status="queued", worker_id=None, lease_expires_at=None, run_after=now)
            .returning(Run.id)
        )
        if result.first() is None:
            return False
        await emit(
            session,
            [
                event_row(
                    "run.queued",
                    job_id=run.job_id,
                    run_id=run.id,
                    owner_id=run.owner_id,
                    payload=status_payload(
                        "queued",
                        run.attempt,
                        run.trigger,
                        run.scheduled_for,
                        reason=f"handed back by worker {worker_id} at shutdown",
                    ),
                )
            ],
        )
    return True


async def register_worker(
    db: Database, worker_id: str, host: str, pid: int, version: str, capacity: int, now: datetime
) -> None:
    async with db.transaction() as session:
        session.add(
            Worker(
                id=worker_id,
                host=host,
                pid=pid,
                version=version,
                started_at=now,
                last_heartbeat_at=now,
                capacity=capacity,
                running=0,
            )
        )


async def unregister_worker(db: Database, worker_id: str, now: datetime) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Worker).where(Worker.id == worker_id).values(stopped_at=now, running=0)
        )


async def prune_history(db: Database, cutoff: datetime, *, batch: int = 1000) -> int:
    """Delete finished runs (their logs cascade), events and stopped workers older than cutoff."""
    from sqlalchemy import delete

    from app.db.models import Event

    removed = 0
    while True:
        async with db.transaction() as session:
            old = (
                select(Run.id)
                .where(Run.finished_at < cutoff)
                .order_by(Run.finished_at)
                .limit(batch)
            )
            ids = list((await session.scalars(old)).all())
            if ids:
                await session.execute(delete(RunLog).where(RunLog.run_id.in_(ids)))
                await session.execute(delete(Run).where(Run.id.in_(ids)))
            events = select(Event.id).where(Event.created_at < cutoff).limit(batch * 5)
            event_ids = list((await session.scalars(events)).all())
            if event_ids:
                await session.execute(delete(Event).where(Event.id.in_(event_ids)))
            await session.execute(delete(Worker).where(Worker.stopped_at < cutoff))
        removed += len(ids) + len(event_ids)
        if len(ids) < batch and len(event_ids) < batch * 5:
            return removed
