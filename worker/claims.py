"""Claims and leases: how a worker takes runs, keeps them, finishes them — fenced.

Every write a worker makes about a run is conditioned on `worker_id = me AND status =
'running'`. A worker that lost its lease (paused, partitioned, slow) and whose run was
recovered elsewhere finds its late writes matching no row: they are logged and dropped,
never applied over the recovery's outcome.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Integer, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from app.db.engine import Database
from app.db.models import Job, Run, RunLog, Worker
from app.db.types import utcnow
from app.domain.retry import RetryPolicy, retry_delay
from app.feed.events import EVENTS, emit, event_row
from app.services import alerts
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
JOBS: Table = Job.__table__  # type: ignore[assignment]
WORKERS: Table = Worker.__table__  # type: ignore[assignment]


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
    started_at: datetime | None = None

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
class Record:
    """What one run has to write: log lines from `first_seq`, and, once it has finished,
    its outcome (or, at shutdown, that it goes back to the queue)."""

    run: ClaimedRun
    first_seq: int
    lines: list[tuple[datetime, str, str]] = field(default_factory=list)
    truncated: bool = False
    outcome: Outcome | None = None  # None: log lines only, the run goes on
    release: bool = False  # hand the run back to the queue, same attempt (shutdown)


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


_JOB_COLUMNS = (
    JOBS.c.id,
    JOBS.c.type,
    JOBS.c.spec,
    JOBS.c.timeout_seconds,
    JOBS.c.max_attempts,
    JOBS.c.retry_initial_delay,
    JOBS.c.retry_max_delay,
    JOBS.c.retry_multiplier,
    JOBS.c.name,
)


def claimed_run(run: Mapping[Any, Any], job: Mapping[Any, Any], now: datetime) -> ClaimedRun:
    """A claimed run from its `runs` columns and its job's (`_JOB_COLUMNS`), both paths."""
    return ClaimedRun(
        id=run["id"],
        job_id=run["job_id"],
        owner_id=run["owner_id"],
        attempt=run["attempt"],
        root_run_id=run["root_run_id"],
        scheduled_for=run["scheduled_for"],
        trigger=run["trigger"],
        job_type=job["type"],
        job_spec=job["spec"],
        timeout_seconds=job["timeout_seconds"],
        retry=RetryPolicy(
            max_attempts=job["max_attempts"],
            initial_delay=job["retry_initial_delay"],
            max_delay=job["retry_max_delay"],
            multiplier=job["retry_multiplier"],
        ),
        job_name=job["name"],
        log_lines=run["log_lines"],
        started_at=now,
    )


def _expire_deadlines(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Queued runs past their starting deadline become `missed`; returns their events."""
    expired = conn.execute(
        update(RUNS)
        .where(RUNS.c.status == "queued", RUNS.c.start_deadline_at < now)
        .values(
            status="missed",
            finished_at=now,
            error="missed: not started before the job's starting deadline",
        )
        .returning(
            RUNS.c.id,
            RUNS.c.job_id,
            RUNS.c.owner_id,
            RUNS.c.attempt,
            RUNS.c.trigger,
            RUNS.c.scheduled_for,
            RUNS.c.root_run_id,
            RUNS.c.error,
        )
    ).all()
    alerts.apply_outcomes(
        conn,
        [
            outcome
            for row in expired
            if (
                outcome := alerts.run_outcome(
                    job_id=row.job_id,
                    owner_id=row.owner_id,
                    run_id=row.id,
                    root_run_id=row.root_run_id,
                    status="missed",
                    error=row.error,
                    at=now,
                )
            )
        ],
    )
    return [_run_event("run.missed", row, "missed") for row in expired]


async def claim_runs(
    db: Database,
    worker_id: str,
    limit: int,
    now: datetime,
    lease_seconds: float,
    *,
    expire_deadlines: bool = True,
) -> list[ClaimedRun]:
    """Take up to `limit` due queued runs, oldest due first.

    With `expire_deadlines`, queued runs past their starting deadline are first marked
    missed (the claim itself never takes one, either way; the claim loop expires them
    about once a second rather than on every claim)."""
    if limit <= 0:
        return []
    if db.is_postgres:
        from worker.claims_pg import claim_runs_pg

        if expire_deadlines:
            await db.run_write(lambda conn: _emit(conn, _expire_deadlines(conn, now)))
        return await claim_runs_pg(db, worker_id, limit, now, lease_seconds)
    return await _claim_runs_tx(db, worker_id, limit, now, lease_seconds, expire_deadlines)


async def _claim_runs_tx(
    db: Database,
    worker_id: str,
    limit: int,
    now: datetime,
    lease_seconds: float,
    expire_deadlines: bool,
) -> list[ClaimedRun]:
    """`claim_runs` as a transaction of portable statements (SQLite's path), run as one
    unit (`Database.run_write`: on SQLite one hop to a thread, holding the write lock for
    the statements only)."""
    return await db.run_write(
        lambda conn: _claim_sync(
            conn, db.is_postgres, worker_id, limit, now, lease_seconds, expire_deadlines
        )
    )


def _claim_sync(
    conn: Connection,
    postgres: bool,
    worker_id: str,
    limit: int,
    now: datetime,
    lease_seconds: float,
    expire_deadlines: bool,
) -> list[ClaimedRun]:
    lease = now + timedelta(seconds=lease_seconds)
    events = _expire_deadlines(conn, now) if expire_deadlines else []
    picked = (
        select(RUNS.c.id)
        .where(
            RUNS.c.status == "queued",
            RUNS.c.run_after <= now,
            or_(RUNS.c.start_deadline_at.is_(None), RUNS.c.start_deadline_at >= now),
        )
        .order_by(RUNS.c.run_after)  # ix_runs_queued's order: no sort of the whole queue
        .limit(limit)
    )
    if postgres:
        picked = picked.with_for_update(skip_locked=True)
    result = conn.execute(
        update(RUNS)
        .where(RUNS.c.id.in_(picked.scalar_subquery()))
        .values(status="running", worker_id=worker_id, lease_expires_at=lease, started_at=now)
        .returning(
            RUNS.c.id,
            RUNS.c.job_id,
            RUNS.c.owner_id,
            RUNS.c.attempt,
            RUNS.c.root_run_id,
            RUNS.c.scheduled_for,
            RUNS.c.trigger,
            RUNS.c.log_lines,
        )
    )
    claimed_rows = result.all()
    claimed: list[ClaimedRun] = []
    if claimed_rows:
        job_ids = {row.job_id for row in claimed_rows}
        jobs = {
            job.id: job for job in conn.execute(select(*_JOB_COLUMNS).where(JOBS.c.id.in_(job_ids)))
        }
        started_payload = {"workerId": worker_id, "startedAt": now.isoformat()}
        for row in claimed_rows:
            claimed.append(claimed_run(row._mapping, jobs[row.job_id]._mapping, now))
            events.append(_run_event("run.started", row, "running", **started_payload))
    _emit(conn, events)
    return claimed


async def next_queued_at(db: Database, now: datetime) -> datetime | None:
    """When the next queued run becomes due (e.g. a retry's backoff), if any is waiting."""
    async with db.connect() as conn:
        return await conn.scalar(
            select(func.min(RUNS.c.run_after)).where(
                RUNS.c.status == "queued", RUNS.c.run_after > now
            )
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


# Executemany statements for `record_runs`: one round trip for the whole batch each. The
# rows were locked (PostgreSQL) or the database write-locked (SQLite) by the fencing read,
# so the worker_id/status conditions are only a second line of defence.
_FENCE = (RUNS.c.id == bindparam("r_id"), RUNS.c.worker_id == bindparam("r_worker"))
_LOG_COUNTERS = {
    "log_lines": RUNS.c.log_lines + bindparam("r_lines", type_=Integer),
    "log_bytes": RUNS.c.log_bytes + bindparam("r_bytes", type_=Integer),
    "log_truncated": RUNS.c.log_truncated | bindparam("r_truncated", type_=Boolean),
}
_UPDATE_LOG_COUNTERS = update(RUNS).where(*_FENCE).values(**_LOG_COUNTERS)
_UPDATE_FINISHED = (
    update(RUNS)
    .where(*_FENCE)
    .values(
        status=bindparam("r_status"),
        finished_at=bindparam("r_now"),
        http_status=bindparam("r_http_status"),
        exit_code=bindparam("r_exit_code"),
        error=bindparam("r_error"),
        output=bindparam("r_output"),
        lease_expires_at=None,
        **_LOG_COUNTERS,
    )
)
_UPDATE_RELEASED = (
    update(RUNS)
    .where(*_FENCE)
    .values(
        status="queued",
        worker_id=None,
        lease_expires_at=None,
        run_after=bindparam("r_now"),
        **_LOG_COUNTERS,
    )
)


def _will_retry(record: Record) -> bool:
    outcome = record.outcome
    return (
        outcome is not None
        and outcome.status != "cancelled"
        and outcome.retryable
        and record.run.attempt < record.run.retry.max_attempts
    )


def record_events(records: list[Record], worker_id: str, now: datetime) -> list[dict[str, Any]]:
    """The feed events of a batch, in order: per run, its log lines, then its outcome."""
    events: list[dict[str, Any]] = []
    for record in records:
        if record.lines:
            events.append(
                _log_event(record.run, _log_rows(record.run, record.first_seq, record.lines))
            )
        if record.release:
            events.append(_released_event(record.run, worker_id))
        elif record.outcome is not None:
            events.append(_finished_event(record.run, record.outcome, now))
    return events


def _warn_refused(records: list[Record], owned: set[int], worker_id: str) -> None:
    for record in records:
        if record.run.id not in owned:
            log.warning(
                "run %s: %s from worker %s refused: it no longer holds the lease "
                "(the run was recovered, cancelled or deleted)%s",
                record.run.id,
                "result" if record.outcome else "log lines",
                worker_id,
                f"; outcome {record.outcome.status} dropped" if record.outcome else "",
            )


async def record_runs(
    db: Database,
    worker_id: str,
    records: list[Record],
    now: datetime,
    *,
    rng: random.Random | None = None,
) -> set[int]:
    """Write a batch of log lines and outcomes atomically; returns the ids of the runs
    whose writes were accepted. A run this worker no longer holds (recovered, cancelled
    by deletion, handed over) is fenced off: nothing of it is written.

    Per run, its lines go in before its outcome's event, so a log subscriber has every
    line when it hears the run ended; a finished run that may be retried queues its next
    attempt in the same transaction. On PostgreSQL a batch without retries is one
    statement (claims_pg.py).
    """
    if not records:
        return set()
    if (
        db.is_postgres
        and not any(_will_retry(r) for r in records)
        and not await _alerts_wanted(db, records, now)
    ):
        from worker.claims_pg import record_runs_pg

        events = record_events(records, worker_id, now)
        owned = await record_runs_pg(db, worker_id, records, now, events)
    else:
        owned = await _record_runs_tx(db, worker_id, records, now, rng)
    _warn_refused(records, owned, worker_id)
    return owned


async def _record_runs_tx(
    db: Database,
    worker_id: str,
    records: list[Record],
    now: datetime,
    rng: random.Random | None,
) -> set[int]:
    """`record_runs` as a transaction of portable statements: a fencing read (locking the
    rows on PostgreSQL; SQLite's write lock is already held), then executemany writes —
    run as one unit (`Database.run_write`)."""
    return await db.run_write(
        lambda conn: _record_sync(conn, db.is_postgres, worker_id, records, now, rng)
    )


def _record_sync(
    conn: Connection,
    postgres: bool,
    worker_id: str,
    records: list[Record],
    now: datetime,
    rng: random.Random | None,
) -> set[int]:
    fence = (
        select(RUNS.c.id)
        .where(
            RUNS.c.id.in_([r.run.id for r in records]),
            RUNS.c.worker_id == worker_id,
            RUNS.c.status == "running",
        )
        .order_by(RUNS.c.id)  # lock in one order: no deadlock with a concurrent batch
    )
    if postgres:
        fence = fence.with_for_update()
    owned = set(conn.execute(fence).scalars())
    accepted = [r for r in records if r.run.id in owned]
    if not accepted:
        return owned

    log_rows: list[dict[str, Any]] = []
    groups: dict[Any, list[dict[str, Any]]] = {
        _UPDATE_LOG_COUNTERS: [],
        _UPDATE_FINISHED: [],
        _UPDATE_RELEASED: [],
    }
    for record in accepted:
        run = record.run
        if record.lines:
            log_rows += _log_rows(run, record.first_seq, record.lines)
        params: dict[str, Any] = {
            "r_id": run.id,
            "r_worker": worker_id,
            "r_lines": len(record.lines),
            "r_bytes": sum(len(text) for _, _, text in record.lines),
            "r_truncated": record.truncated,
            "r_now": now,
        }
        outcome = record.outcome
        if record.release:
            groups[_UPDATE_RELEASED].append(params)
        elif outcome is None:
            if record.lines or record.truncated:
                del params["r_now"]
                groups[_UPDATE_LOG_COUNTERS].append(params)
        else:
            params["r_truncated"] = record.truncated or outcome.log_truncated
            params.update(
                r_status=outcome.status,
                r_http_status=outcome.http_status,
                r_exit_code=outcome.exit_code,
                r_error=outcome.error,
                r_output=outcome.output,
            )
            groups[_UPDATE_FINISHED].append(params)
    if log_rows:
        conn.execute(insert(RUN_LOGS), log_rows)
    for statement, params_list in groups.items():
        if params_list:
            conn.execute(statement, params_list)
    events = record_events(accepted, worker_id, now)
    retrying = [r for r in accepted if _will_retry(r)]
    if retrying:
        events += _queue_retries(conn, retrying, now, rng)
    _emit(conn, events)
    alerts.apply_outcomes(conn, _final_outcomes(accepted, now))
    return owned


def _final_outcomes(records: list[Record], now: datetime) -> list[alerts.SubjectOutcome]:
    """The alerting outcomes of runs that reached their occurrence's final status (a
    run that will be retried is not final: its occurrence may still succeed)."""
    found = []
    for record in records:
        outcome = record.outcome
        if outcome is None or record.release or _will_retry(record):
            continue
        run = record.run
        final = alerts.run_outcome(
            job_id=run.job_id,
            owner_id=run.owner_id,
            run_id=run.id,
            root_run_id=run.root_run_id,
            status=outcome.status,
            error=outcome.error,
            at=now,
            name=run.job_name,
        )
        if final is not None:
            found.append(final)
    return found


async def _alerts_wanted(db: Database, records: list[Record], now: datetime) -> bool:
    """Whether any final outcome of the batch belongs to an owner with alert rules (the
    PostgreSQL one-statement path writes no alerts, so such batches take the other one)."""
    owners = {o.owner_id for o in _final_outcomes(records, now)}
    if not owners:
        return False
    async with db.connect() as conn:
        found = await conn.run_sync(lambda sync: alerts.owners_with_rules(sync, owners))
    return bool(found)


def _emit(conn: Connection, events: list[dict[str, Any]]) -> None:
    """`app.feed.events.emit` for a sync connection (inside `Database.run_write`)."""
    if events:
        conn.execute(insert(EVENTS), events)


def _run_event(kind: str, run: Any, status: str, **extra: Any) -> dict[str, Any]:
    """A run's feed event. `run`: anything with the run's id, job_id, owner_id, attempt,
    trigger and scheduled_for (a ClaimedRun, a RETURNING row)."""
    return event_row(
        kind,
        job_id=run.job_id,
        run_id=run.id,
        owner_id=run.owner_id,
        payload=status_payload(status, run.attempt, run.trigger, run.scheduled_for, **extra),
    )


def _finished_event(run: ClaimedRun, outcome: Outcome, now: datetime) -> dict[str, Any]:
    return _run_event(
        "run.finished" if outcome.status != "cancelled" else "run.cancelled",
        run,
        outcome.status,
        finishedAt=now.isoformat(),
        startedAt=run.started_at.isoformat() if run.started_at else None,
        httpStatus=outcome.http_status,
        exitCode=outcome.exit_code,
        error=outcome.error,
    )


def _released_event(run: ClaimedRun, worker_id: str) -> dict[str, Any]:
    reason = f"handed back by worker {worker_id} at shutdown"
    return _run_event("run.queued", run, "queued", reason=reason)


def _queue_retries(
    conn: Connection, records: list[Record], now: datetime, rng: random.Random | None
) -> list[dict[str, Any]]:
    """The next attempt of each finished run that may be retried (jobs deleted meanwhile
    are not retried)."""
    jobs = {
        job.id: job
        for job in conn.execute(
            select(JOBS.c.id, JOBS.c.owner_id, JOBS.c.starting_deadline_seconds).where(
                JOBS.c.id.in_({r.run.job_id for r in records})
            )
        )
    }
    rows = []
    for record in records:
        job = jobs.get(record.run.job_id)
        if job is None or record.outcome is None:
            continue
        delay = retry_delay(record.run.retry, record.run.attempt, record.outcome.retry_after, rng)
        rows.append(_retry_row(job, record.run, now, delay))
    if not rows:
        return []
    ids = conn.execute(
        insert(RUNS).returning(RUNS.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    for row, run_id in zip(rows, ids, strict=True):
        row["id"] = run_id
    return run_events(rows)


async def complete_run(
    db: Database,
    worker_id: str,
    run: ClaimedRun,
    outcome: Outcome,
    now: datetime,
    *,
    rng: random.Random | None = None,
    lines: list[tuple[datetime, str, str]] | None = None,
    first_seq: int | None = None,
) -> bool:
    """Record one run's outcome, with its last `lines` (numbered from `first_seq`, by
    default after the lines it had when claimed); False if fenced off. The worker itself
    batches outcomes through `record_runs`."""
    seq = first_seq if first_seq is not None else run.log_lines + 1
    record = Record(run, seq, lines or [], outcome=outcome)
    return run.id in await record_runs(db, worker_id, [record], now, rng=rng)


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
    record = Record(run, first_seq, lines, truncated)
    return run.id in await record_runs(db, worker_id, [record], utcnow())


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
    async with db.write_connection() as conn:
        if run_ids:
            mine = (
                select(RUNS.c.id)
                .where(
                    RUNS.c.id.in_(run_ids),
                    RUNS.c.worker_id == worker_id,
                    RUNS.c.status == "running",
                )
                .order_by(RUNS.c.id)  # the same lock order as record_runs
            )
            if db.is_postgres:
                mine = mine.with_for_update()
            result = await conn.execute(
                update(RUNS)
                .where(RUNS.c.id.in_(mine.scalar_subquery()))
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
                .returning(RUNS.c.id, RUNS.c.cancel_requested)
            )
            for run_id, cancel_requested in result:
                owned.add(run_id)
                if cancel_requested:
                    cancel.add(run_id)
        await conn.execute(
            update(WORKERS)
            .where(WORKERS.c.id == worker_id)
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
        outcomes: list[alerts.SubjectOutcome] = []
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
            retried = (
                job is not None and run.attempt < job.max_attempts and not run.cancel_requested
            )
            if job is not None and not retried:
                final = alerts.run_outcome(
                    job_id=run.job_id,
                    owner_id=run.owner_id,
                    run_id=run.id,
                    root_run_id=run.root_run_id,
                    status="lost",
                    error=run.error,
                    at=now,
                    name=job.name,
                )
                if final is not None:
                    outcomes.append(final)
            if job is not None and retried:
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
        if outcomes:
            await session.run_sync(lambda sync: alerts.apply_outcomes(sync.connection(), outcomes))
        log.warning("recovered %d run(s) whose worker stopped heart-beating", len(runs))
        return len(runs)


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
