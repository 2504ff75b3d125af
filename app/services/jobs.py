"""Jobs: create, change, pause, resume, delete, read — with access checks and the feed.

Secret header values are encrypted before they reach the database and are never returned:
`public_spec` masks them. A client that sends the mask back (an edit form round trip)
keeps the stored secret.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select

from app.db.engine import Database
from app.db.models import Job, Run
from app.db.types import utcnow
from app.domain.errors import NotFound, ValidationError
from app.domain.job_input import JobDraft, parse_job_input
from app.domain.job_spec import (
    MASK,
    HttpSpec,
    JobSpec,
    ScriptSpec,
    check_http_target,
    resolve_cwd,
    spec_from_dict,
    spec_to_dict,
)
from app.domain.retry import RetryPolicy
from app.domain.schedule import (
    AtSchedule,
    CronSchedule,
    IntervalSchedule,
    Occurrence,
    Schedule,
    next_after,
    occurrences,
    schedule_from_fields,
)
from app.feed.events import emit, event_row
from app.services import audit
from app.services.access import (
    Principal,
    ensure_can_change,
    ensure_can_read,
    ensure_may_use_type,
    ensure_may_write,
    owner_filter,
)
from app.services.alert_cleanup import forget_subject
from app.services.runs import MAX_PAGE, active_runs, cancel_future_runs, cancel_runs
from app.services.secrets import SecretBox

Clock = Callable[[], datetime]


def job_schedule(job: Job) -> Schedule:
    return schedule_from_fields(
        kind=job.schedule_kind,
        cron=job.cron,
        timezone=job.timezone,
        every_seconds=job.interval_seconds,
        anchor=job.anchor_at,
        at=job.run_at,
    )


def job_retry_policy(job: Job) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=job.max_attempts,
        initial_delay=job.retry_initial_delay,
        max_delay=job.retry_max_delay,
        multiplier=job.retry_multiplier,
    )


def job_draft(job: Job) -> JobDraft:
    """The stored job as a draft (secret values still encrypted), the base of an update."""
    return JobDraft(
        name=job.name,
        type=job.type,
        spec=spec_from_dict(job.type, job.spec),
        schedule=job_schedule(job),
        description=job.description,
        retry=job_retry_policy(job),
        timeout_seconds=job.timeout_seconds,
        concurrency=job.concurrency,
        misfire=job.misfire,
        misfire_limit=job.misfire_limit,
        starting_deadline_seconds=job.starting_deadline_seconds,
        paused=job.paused,
    )


def public_spec(job: Job) -> dict[str, Any]:
    """The job's spec as the API shows it: secret header values masked."""
    return spec_to_dict(spec_from_dict(job.type, job.spec).masked())


def reveal_spec(job_type: str, spec_json: dict[str, Any], secrets: SecretBox) -> JobSpec:
    """The spec with secrets decrypted: for the worker that executes it, nobody else."""
    spec = spec_from_dict(job_type, spec_json)
    if isinstance(spec, HttpSpec):
        return spec.map_secrets(secrets.decrypt)
    return spec


def schedule_columns(schedule: Schedule) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "cron": None,
        "interval_seconds": None,
        "anchor_at": None,
        "run_at": None,
        "timezone": schedule.timezone,
    }
    if isinstance(schedule, CronSchedule):
        columns.update(schedule_kind="cron", cron=schedule.expr)
    elif isinstance(schedule, IntervalSchedule):
        columns.update(
            schedule_kind="interval",
            interval_seconds=schedule.every_seconds,
            anchor_at=schedule.anchor,
        )
    elif isinstance(schedule, AtSchedule):
        columns.update(schedule_kind="at", run_at=schedule.at)
    return columns


def draft_columns(draft: JobDraft) -> dict[str, Any]:
    return {
        "name": draft.name,
        "description": draft.description,
        "type": draft.type,
        "spec": spec_to_dict(draft.spec),
        **schedule_columns(draft.schedule),
        "max_attempts": draft.retry.max_attempts,
        "retry_initial_delay": draft.retry.initial_delay,
        "retry_max_delay": draft.retry.max_delay,
        "retry_multiplier": draft.retry.multiplier,
        "timeout_seconds": draft.timeout_seconds,
        "concurrency": draft.concurrency,
        "misfire": draft.misfire,
        "misfire_limit": draft.misfire_limit,
        "starting_deadline_seconds": draft.starting_deadline_seconds,
        "paused": draft.paused,
    }


def job_payload(job: Job) -> dict[str, Any]:
    return {
        "name": job.name,
        "type": job.type,
        "paused": job.paused,
        "nextRunAt": job.next_run_at.isoformat() if job.next_run_at else None,
        "version": job.version,
    }


@dataclass(frozen=True)
class JobFilter:
    type: str | None = None
    paused: bool | None = None
    search: str | None = None
    owner_id: int | None = None


class JobService:
    def __init__(
        self,
        db: Database,
        secrets: SecretBox,
        *,
        script_root: Path,
        allow_private: bool = False,
        clock: Clock = utcnow,
        on_scheduled: Callable[[], None] | None = None,
    ) -> None:
        """`on_scheduled` is called after a change to when a job next runs has committed
        (an in-process scheduler wakes on it; other processes hear PostgreSQL's NOTIFY)."""
        self.db = db
        self.secrets = secrets
        self.script_root = script_root
        self.allow_private = allow_private
        self.clock = clock
        self.on_scheduled = on_scheduled or (lambda: None)

    # --- secrets --------------------------------------------------------------------------

    def _seal(self, spec: JobSpec, previous: JobSpec | None) -> JobSpec:
        """Encrypt new secret values; a masked value keeps the previously stored secret."""
        if not isinstance(spec, HttpSpec):
            return spec
        stored = {
            h.name.lower(): h.value
            for h in (previous.headers if isinstance(previous, HttpSpec) else ())
            if h.secret
        }
        headers = []
        for index, header in enumerate(spec.headers):
            if not header.secret:
                headers.append(header)
            elif header.value == MASK:
                if header.name.lower() not in stored:
                    raise ValidationError(
                        "this secret header has no stored value; type the value",
                        field=f"http.headers[{index}].value",
                    )
                headers.append(replace(header, value=stored[header.name.lower()]))
            else:
                headers.append(replace(header, value=self.secrets.encrypt(header.value)))
        return replace(spec, headers=tuple(headers))

    def reveal(self, job: Job) -> JobSpec:
        return reveal_spec(job.type, job.spec, self.secrets)

    def _check_spec(self, spec: JobSpec) -> None:
        """Checks that depend on where dts runs; the worker repeats them at run time."""
        if isinstance(spec, ScriptSpec):
            resolve_cwd(spec.cwd, self.script_root)
        else:
            check_http_target(spec.url, allow_private=self.allow_private)

    # --- use cases ------------------------------------------------------------------------

    async def create_job(self, principal: Principal, data: Any, *, ip: str | None = None) -> Job:
        ensure_may_write(principal)
        now = self.clock()
        draft = parse_job_input(data, now=now)
        ensure_may_use_type(principal, draft.type)
        self._check_spec(draft.spec)
        draft = replace(draft, spec=self._seal(draft.spec, None))
        job = Job(owner_id=principal.user_id, **draft_columns(draft))
        job.next_run_at = None if draft.paused else next_after(draft.schedule, now)
        job.paused_at = now if draft.paused else None
        job.created_at = job.updated_at = now
        async with self.db.transaction() as session:
            session.add(job)
            await session.flush()
            await emit(
                session,
                [
                    event_row(
                        "job.created",
                        job_id=job.id,
                        owner_id=job.owner_id,
                        payload=job_payload(job),
                    )
                ],
            )
            audit.record(session, principal, "job.create", "job", job.id, {"name": job.name}, ip)
        self.on_scheduled()
        return job

    async def _load_for_change(self, session: Any, principal: Principal, job_id: int) -> Job:
        query = select(Job).where(Job.id == job_id)
        if self.db.is_postgres:
            query = query.with_for_update()
        job = (await session.scalars(query)).one_or_none()
        if job is None:
            raise NotFound("job not found", field="id")
        ensure_can_change(principal, job.owner_id, job.type)
        return job

    async def update_job(
        self, principal: Principal, job_id: int, data: Any, *, ip: str | None = None
    ) -> Job:
        now = self.clock()
        async with self.db.transaction() as session:
            job = await self._load_for_change(session, principal, job_id)
            base = job_draft(job)
            draft = parse_job_input(data, base=base, now=now)
            if draft.spec is not base.spec:
                self._check_spec(draft.spec)
                draft = replace(draft, spec=self._seal(draft.spec, base.spec))
            for key, value in draft_columns(draft).items():
                setattr(job, key, value)
            cancelled: list[dict[str, Any]] = []
            if draft.paused and not base.paused:
                job.paused_at, job.next_run_at = now, None
                cancelled = await cancel_future_runs(
                    session, job.id, now=now, reason="cancelled: the job was paused"
                )
            elif not draft.paused and (base.paused or draft.schedule != base.schedule):
                job.paused_at = None
                job.next_run_at = next_after(draft.schedule, now)
                cancelled = await cancel_future_runs(
                    session, job.id, now=now, reason="cancelled: the job's schedule changed"
                )
            await emit(session, cancelled)
            job.version += 1
            job.updated_at = now
            changed = sorted(data) if isinstance(data, dict) else []
            await emit(
                session,
                [
                    event_row(
                        "job.updated",
                        job_id=job.id,
                        owner_id=job.owner_id,
                        payload=job_payload(job),
                    )
                ],
            )
            audit.record(session, principal, "job.update", "job", job.id, {"fields": changed}, ip)
        self.on_scheduled()
        return job

    async def set_paused(
        self,
        principal: Principal,
        job_id: int,
        paused: bool,
        *,
        catch_up: bool = False,
        ip: str | None = None,
    ) -> Job:
        """Pause (nothing is created while paused) or resume.

        On resume, occurrences missed while paused are dropped unless `catch_up`, in which
        case the job's misfire policy decides what happens to them.
        """
        now = self.clock()
        async with self.db.transaction() as session:
            job = await self._load_for_change(session, principal, job_id)
            if job.paused == paused:
                return job
            schedule = job_schedule(job)
            if paused:
                job.paused, job.paused_at, job.next_run_at = True, now, None
                await emit(
                    session,
                    await cancel_future_runs(
                        session, job.id, now=now, reason="cancelled: the job was paused"
                    ),
                )
            else:
                since = job.paused_at if catch_up and job.paused_at else now
                job.paused, job.paused_at = False, None
                job.next_run_at = next_after(schedule, since)
            job.version += 1
            job.updated_at = now
            kind = "job.paused" if paused else "job.resumed"
            await emit(
                session,
                [event_row(kind, job_id=job.id, owner_id=job.owner_id, payload=job_payload(job))],
            )
            audit.record(
                session,
                principal,
                "job.pause" if paused else "job.resume",
                "job",
                job.id,
                {"catchUp": catch_up} if not paused else None,
                ip,
            )
        self.on_scheduled()
        return job

    async def delete_job(self, principal: Principal, job_id: int, *, ip: str | None = None) -> None:
        """Delete a job and its history; its running runs are stopped by their workers."""
        now = self.clock()
        async with self.db.transaction() as session:
            job = await self._load_for_change(session, principal, job_id)
            active = (await active_runs(session, [job.id])).get(job.id, [])
            running = [rid for rid, status in active if status == "running"]
            await cancel_runs(session, [], running, now=now, reason="cancelled: job deleted")
            await session.execute(delete(Run).where(Run.job_id == job.id))
            await forget_subject(session, "job", job.id)
            await session.delete(job)
            await emit(
                session,
                [
                    event_row(
                        "job.deleted",
                        job_id=job.id,
                        owner_id=job.owner_id,
                        payload={"name": job.name, "type": job.type},
                    )
                ],
            )
            audit.record(session, principal, "job.delete", "job", job.id, {"name": job.name}, ip)

    async def get_job(self, principal: Principal, job_id: int) -> Job:
        async with self.db.session() as session:
            job = await session.get(Job, job_id)
        if job is None:
            raise NotFound("job not found", field="id")
        ensure_can_read(principal, job.owner_id)
        return job

    async def list_jobs(
        self,
        principal: Principal,
        *,
        filter: JobFilter | None = None,
        first: int = 50,
        after_id: int | None = None,
    ) -> tuple[list[Job], bool]:
        """Jobs the principal may read, newest first; `after_id` is the page cursor."""
        if not 1 <= first <= MAX_PAGE:
            raise ValidationError(f"must be from 1 to {MAX_PAGE}, got {first}", field="first")
        conditions: list[ColumnElement[bool]] = [owner_filter(principal, Job.owner_id)]
        f = filter or JobFilter()
        if f.type is not None:
            if f.type not in ("http", "script"):
                raise ValidationError("expected 'http' or 'script'", field="filter.type")
            conditions.append(Job.type == f.type)
        if f.paused is not None:
            conditions.append(Job.paused.is_(f.paused))
        if f.search:
            pattern = (
                "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            conditions.append(Job.name.ilike(pattern, escape="\\"))
        if f.owner_id is not None:
            conditions.append(Job.owner_id == f.owner_id)
        if after_id is not None:
            conditions.append(Job.id < after_id)
        query = select(Job).where(*conditions).order_by(Job.id.desc()).limit(first + 1)
        async with self.db.session() as session:
            jobs = list((await session.scalars(query)).all())
        return jobs[:first], len(jobs) > first

    async def next_runs(
        self, principal: Principal, job_id: int, count: int = 10, *, after: datetime | None = None
    ) -> list[Occurrence]:
        job = await self.get_job(principal, job_id)
        return occurrences(job_schedule(job), after or self.clock(), count)

    async def last_runs(self, job_ids: Sequence[int]) -> dict[int, Run]:
        """The latest run of each job, in one query (the job list's DataLoader uses it)."""
        if not job_ids:
            return {}
        # A correlated max() per job walks the (job_id, id) index: O(jobs · log runs),
        # inside one statement (one round trip).
        newest_id = select(func.max(Run.id)).where(Run.job_id == Job.id).scalar_subquery()
        newest = select(newest_id).where(Job.id.in_(job_ids)).scalar_subquery()
        async with self.db.session() as session:
            runs = await session.scalars(select(Run).where(Run.id.in_(newest)))
            return {run.job_id: run for run in runs}
