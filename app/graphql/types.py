"""GraphQL output types: small dataclasses built from models, resolvers calling loaders."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.db import models
from app.domain.cron_text import describe
from app.domain.errors import ValidationError
from app.domain.job_spec import HttpSpec as DomainHttpSpec
from app.domain.job_spec import spec_from_dict
from app.domain.schedule import Occurrence as DomainOccurrence
from app.domain.schedule import load_timezone
from app.domain.schedule import occurrences as domain_occurrences
from app.graphql.context import Context
from app.graphql.limits import preview_budget
from app.services.inspector import check_zones, compute_off_loop
from app.services.jobs import job_schedule

# Every DateTime the API returns reads as REST writes it: UTC with a `Z` (Strawberry's own
# would write `+00:00`). Input parsing is Strawberry's: any ISO 8601 offset is accepted.


def gid(value: object, field: str = "id") -> int:
    """Parse a GraphQL ID argument (our ids are integers) with a clear error."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise ValidationError(f"{value!r} is not a valid id", field=field) from None
    if number <= 0 or number > 2**63 - 1:
        raise ValidationError(f"{value!r} is not a valid id", field=field)
    return number


@strawberry.enum
class Role(Enum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


@strawberry.enum
class JobType(Enum):
    HTTP = "http"
    SCRIPT = "script"


@strawberry.enum
class RunStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    LOST = "lost"
    SKIPPED = "skipped"
    MISSED = "missed"


@strawberry.enum
class RunTrigger(Enum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    RETRY = "retry"


@strawberry.enum
class ConcurrencyPolicy(Enum):
    ALLOW = "allow"
    FORBID = "forbid"
    REPLACE = "replace"


@strawberry.enum
class MisfirePolicy(Enum):
    COALESCE = "coalesce"
    ALL = "all"
    SKIP = "skip"


@strawberry.enum
class ScheduleKind(Enum):
    CRON = "cron"
    INTERVAL = "interval"
    AT = "at"


@strawberry.enum
class TokenScope(Enum):
    READ = "read"
    WRITE = "write"


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    role: Role
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: models.User) -> User:
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            role=Role(user.role),
            disabled=user.disabled,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    token_type: str
    user: User


@strawberry.type
class ZoneTime:
    timezone: str
    local: str = strawberry.field(description="ISO 8601 local time with its UTC offset.")


@strawberry.type
class Occurrence:
    utc: datetime
    local: str = strawberry.field(description="ISO 8601 local time with its UTC offset.")
    timezone: str
    abbreviation: str = strawberry.field(description="e.g. CET, CEST, EDT.")
    note: str | None = strawberry.field(description="Set when DST moved or doubled this time.")
    dst_shifted: bool
    zones: list[ZoneTime]

    @classmethod
    def of(cls, occ: DomainOccurrence, zones: list[str]) -> Occurrence:
        return cls(
            utc=occ.at,
            local=occ.local.isoformat(),
            timezone=occ.timezone,
            abbreviation=occ.local.tzname() or "",
            note=occ.note,
            dst_shifted=occ.dst_shifted,
            zones=[
                ZoneTime(timezone=zone, local=occ.at.astimezone(load_timezone(zone)).isoformat())
                for zone in zones
            ],
        )


@strawberry.type
class SchedulePreview:
    description: str
    timezone: str
    occurrences: list[Occurrence]


@strawberry.type
class Schedule:
    kind: ScheduleKind
    cron: str | None
    timezone: str
    every_seconds: float | None
    anchor: datetime | None
    at: datetime | None
    description: str


@strawberry.type
class Header:
    name: str
    value: str = strawberry.field(description="Masked (••••••) when the header is secret.")
    secret: bool


@strawberry.type
class HttpRequest:
    method: str
    url: str
    headers: list[Header]
    body: str | None
    body_is_json: bool
    success_statuses: list[int] | None
    follow_redirects: bool


@strawberry.type
class EnvVar:
    name: str
    value: str


@strawberry.type
class ScriptCommand:
    command: str
    args: list[str]
    cwd: str
    env: list[EnvVar]


@strawberry.type
class RetryPolicy:
    max_attempts: int
    initial_delay: float
    max_delay: float
    multiplier: float


@strawberry.type
class RecentRun:
    status: RunStatus
    duration_seconds: float | None


@strawberry.type
class JobStats:
    total: int
    succeeded: int
    failed: int
    active: int
    success_rate: float | None = strawberry.field(
        description="Succeeded / finished (excluding skipped and missed); null before any."
    )
    recent: list[RecentRun] = strawberry.field(
        description="The last 20 finished runs, oldest first."
    )


FAILED = ("failed", "timed_out", "lost", "cancelled")


@strawberry.type
class Job:
    id: strawberry.ID
    name: str
    description: str
    type: JobType
    owner_id: strawberry.ID
    timezone: str
    timeout_seconds: float
    concurrency: ConcurrencyPolicy
    misfire: MisfirePolicy
    misfire_limit: int
    starting_deadline_seconds: float | None
    paused: bool
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    _model: strawberry.Private[models.Job]

    @classmethod
    def of(cls, job: models.Job) -> Job:
        return cls(
            id=strawberry.ID(str(job.id)),
            name=job.name,
            description=job.description,
            type=JobType(job.type),
            owner_id=strawberry.ID(str(job.owner_id)),
            timezone=job.timezone,
            timeout_seconds=job.timeout_seconds,
            concurrency=ConcurrencyPolicy(job.concurrency),
            misfire=MisfirePolicy(job.misfire),
            misfire_limit=job.misfire_limit,
            starting_deadline_seconds=job.starting_deadline_seconds,
            paused=job.paused,
            next_run_at=job.next_run_at,
            created_at=job.created_at,
            updated_at=job.updated_at,
            version=job.version,
            _model=job,
        )

    @strawberry.field
    def schedule(self) -> Schedule:
        job = self._model
        kind = ScheduleKind(job.schedule_kind)
        if kind is ScheduleKind.CRON and job.cron:
            text = describe(job.cron)
        elif kind is ScheduleKind.INTERVAL:
            text = f"Every {job.interval_seconds:g} seconds"
        else:
            text = f"Once, at {job.run_at.isoformat() if job.run_at else '?'}"
        return Schedule(
            kind=kind,
            cron=job.cron,
            timezone=job.timezone,
            every_seconds=job.interval_seconds,
            anchor=job.anchor_at,
            at=job.run_at,
            description=text,
        )

    @strawberry.field
    def http(self) -> HttpRequest | None:
        if self._model.type != "http":
            return None
        spec = spec_from_dict("http", self._model.spec).masked()
        assert isinstance(spec, DomainHttpSpec)
        return HttpRequest(
            method=spec.method,
            url=spec.url,
            headers=[Header(name=h.name, value=h.value, secret=h.secret) for h in spec.headers],
            body=spec.body,
            body_is_json=spec.body_is_json,
            success_statuses=list(spec.success_statuses) if spec.success_statuses else None,
            follow_redirects=spec.follow_redirects,
        )

    @strawberry.field
    def script(self) -> ScriptCommand | None:
        if self._model.type != "script":
            return None
        data = self._model.spec
        return ScriptCommand(
            command=data["command"],
            args=list(data.get("args", [])),
            cwd=data.get("cwd", "."),
            env=[EnvVar(name=k, value=v) for k, v in (data.get("env") or {}).items()],
        )

    @strawberry.field
    def retry(self) -> RetryPolicy:
        job = self._model
        return RetryPolicy(
            max_attempts=job.max_attempts,
            initial_delay=job.retry_initial_delay,
            max_delay=job.retry_max_delay,
            multiplier=job.retry_multiplier,
        )

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> User | None:
        user = await info.context.loaders.user.load(self._model.owner_id)
        return User.of(user) if user else None

    @strawberry.field(description="The next occurrences, DST-aware (1-100).")
    async def next_runs(
        self, info: Info[Context, None], count: int = 5, zones: list[str] | None = None
    ) -> list[Occurrence]:
        if not 1 <= count <= 100:
            raise ValidationError(f"must be from 1 to 100, got {count}", field="count")
        viewer_zones = list(check_zones(zones))
        if self._model.paused:
            return []
        preview_budget().charge(count, viewer_zones)
        schedule = job_schedule(self._model)
        now = info.context.services.clock()

        def compute() -> list[Occurrence]:
            found = domain_occurrences(schedule, now, count)
            return [Occurrence.of(o, viewer_zones) for o in found]

        return await compute_off_loop(compute)

    @strawberry.field
    async def last_run(self, info: Info[Context, None]) -> Run | None:
        run = await info.context.loaders.last_run.load(self._model.id)
        return Run.of(run) if run else None

    @strawberry.field
    async def stats(self, info: Info[Context, None]) -> JobStats:
        found = await info.context.loaders.stats.load(self._model.id)
        counts, recent = found.counts, found.recent
        succeeded = counts.get("succeeded", 0)
        failed = sum(counts.get(s, 0) for s in FAILED)
        return JobStats(
            total=sum(counts.values()),
            succeeded=succeeded,
            failed=failed,
            active=counts.get("queued", 0) + counts.get("running", 0),
            success_rate=succeeded / (succeeded + failed) if succeeded + failed else None,
            recent=[RecentRun(status=RunStatus(s), duration_seconds=d) for s, d in recent],
        )

    @strawberry.field
    async def runs(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        status: list[RunStatus] | None = None,
    ) -> RunConnection:
        principal = await info.context.require()
        runs, more = await info.context.services.runs.list_runs(
            principal,
            job_id=self._model.id,
            statuses=[s.value for s in status] if status else None,
            first=first,
            after_id=decode_cursor(after),
        )
        return RunConnection.of(runs, more)


@strawberry.type
class LogLine:
    seq: int
    ts: datetime
    stream: str
    text: str


@strawberry.type
class Run:
    id: strawberry.ID
    job_id: strawberry.ID
    scheduled_for: datetime
    attempt: int
    root_run_id: strawberry.ID | None
    trigger: RunTrigger
    status: RunStatus
    queued_at: datetime
    run_after: datetime
    started_at: datetime | None
    finished_at: datetime | None
    http_status: int | None
    exit_code: int | None
    error: str | None
    output: str | None
    worker_id: str | None
    log_lines: int
    log_truncated: bool
    cancel_requested: bool
    _model: strawberry.Private[models.Run]

    @classmethod
    def of(cls, run: models.Run) -> Run:
        return cls(
            id=strawberry.ID(str(run.id)),
            job_id=strawberry.ID(str(run.job_id)),
            scheduled_for=run.scheduled_for,
            attempt=run.attempt,
            root_run_id=strawberry.ID(str(run.root_run_id)) if run.root_run_id else None,
            trigger=RunTrigger(run.trigger),
            status=RunStatus(run.status),
            queued_at=run.queued_at,
            run_after=run.run_after,
            started_at=run.started_at,
            finished_at=run.finished_at,
            http_status=run.http_status,
            exit_code=run.exit_code,
            error=run.error,
            output=run.output,
            worker_id=run.worker_id,
            log_lines=run.log_lines,
            log_truncated=run.log_truncated,
            cancel_requested=run.cancel_requested,
            _model=run,
        )

    def as_of(self, status: RunStatus) -> Run:
        """This run as it was when it had `status`: a replayed `queued` event must not show
        the run finished, with a result it did not have yet."""
        if status == self.status:
            return self
        if status == RunStatus.QUEUED:
            return dataclasses.replace(
                self._without_result(status), started_at=None, worker_id=None
            )
        if status == RunStatus.RUNNING:
            return self._without_result(status)
        return dataclasses.replace(self, status=status)

    def _without_result(self, status: RunStatus) -> Run:
        return dataclasses.replace(
            self,
            status=status,
            finished_at=None,
            http_status=None,
            exit_code=None,
            error=None,
            output=None,
        )

    @strawberry.field
    def duration_ms(self) -> float | None:
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds() * 1000, 3)
        return None

    @strawberry.field(description="Milliseconds from the scheduled time to the start.")
    def start_lag_ms(self) -> float | None:
        if self.started_at:
            return round((self.started_at - self.scheduled_for).total_seconds() * 1000, 3)
        return None

    @strawberry.field
    async def job(self, info: Info[Context, None]) -> Job | None:
        job = await info.context.loaders.job.load(self._model.job_id)
        return Job.of(job) if job else None

    @strawberry.field(description="Every attempt of this run's occurrence, first to last.")
    async def attempts(self, info: Info[Context, None]) -> list[Run]:
        principal = await info.context.require()
        runs = await info.context.services.runs.attempts(principal, self._model.id)
        return [Run.of(r) for r in runs]

    @strawberry.field
    async def logs(
        self, info: Info[Context, None], after_seq: int = 0, first: int = 500
    ) -> list[LogLine]:
        principal = await info.context.require()
        rows = await info.context.services.runs.logs(
            principal, self._model.id, after_seq=after_seq, limit=first
        )
        return [LogLine(seq=r.seq, ts=r.ts, stream=r.stream, text=r.text) for r in rows]


def encode_cursor(run_or_job_id: int) -> str:
    return str(run_or_job_id)


def decode_cursor(cursor: str | None, field: str = "after") -> int | None:
    if cursor is None or cursor == "":
        return None
    return gid(cursor, field)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def after(cls, cursors: list[str], more: bool) -> PageInfo:
        return cls(has_next_page=more, end_cursor=cursors[-1] if cursors else None)


@strawberry.type
class JobEdge:
    cursor: str
    node: Job


@strawberry.type
class JobConnection:
    edges: list[JobEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, jobs: list[models.Job], more: bool) -> JobConnection:
        edges = [JobEdge(cursor=encode_cursor(j.id), node=Job.of(j)) for j in jobs]
        return cls(edges=edges, page_info=PageInfo.after([e.cursor for e in edges], more))


@strawberry.type
class RunEdge:
    cursor: str
    node: Run


@strawberry.type
class RunConnection:
    edges: list[RunEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, runs: list[models.Run], more: bool) -> RunConnection:
        edges = [RunEdge(cursor=encode_cursor(r.id), node=Run.of(r)) for r in runs]
        return cls(edges=edges, page_info=PageInfo.after([e.cursor for e in edges], more))


@strawberry.type
class WorkerInfo:
    id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    last_heartbeat_at: datetime
    stopped_at: datetime | None
    running: int
    capacity: int
    alive: bool


@strawberry.type
class ApiToken:
    id: strawberry.ID
    name: str
    prefix: str
    scope: TokenScope
    user_id: strawberry.ID
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: models.ApiToken) -> ApiToken:
        return cls(
            id=strawberry.ID(str(token.id)),
            name=token.name,
            prefix=token.prefix,
            scope=TokenScope(token.scope),
            user_id=strawberry.ID(str(token.user_id)),
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


@strawberry.type
class CreatedApiToken:
    token: str = strawberry.field(description="The secret: shown once, store it now.")
    api_token: ApiToken


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    actor_email: str | None
    action: str
    target_type: str
    target_id: str | None
    detail: str = strawberry.field(description="JSON text.")
    ip: str | None
    created_at: datetime

    @classmethod
    def of(cls, entry: models.AuditEntry) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            actor_email=entry.actor_email,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            detail=json.dumps(entry.detail, sort_keys=True),
            ip=entry.ip,
            created_at=entry.created_at,
        )


@strawberry.type
class RunEvent:
    event_id: strawberry.ID = strawberry.field(description="Resume after this id to miss nothing.")
    kind: str
    job_id: strawberry.ID | None
    run_id: strawberry.ID | None
    status: RunStatus | None
    attempt: int | None
    trigger: RunTrigger | None
    scheduled_for: datetime | None
    error: str | None
    at: datetime

    @strawberry.field(
        description="The run as of this event: its status then (and no times or result it "
        "did not have yet), even when the event is replayed later; null if the run no "
        "longer exists."
    )
    async def run(self, info: Info[Context, None]) -> Run | None:
        if self.run_id is None:
            return None
        principal = await info.context.require()
        try:
            found = await info.context.services.runs.get_run(principal, int(self.run_id))
        except Exception:
            return None
        run = Run.of(found)
        return run.as_of(self.status) if self.status is not None else run


@strawberry.type
class JobEvent:
    event_id: strawberry.ID
    kind: str
    job_id: strawberry.ID | None
    run_id: strawberry.ID | None
    status: RunStatus | None
    at: datetime

    @strawberry.field(description="The job as it is now (null once deleted).")
    async def job(self, info: Info[Context, None]) -> Job | None:
        if self.job_id is None:
            return None
        job = await info.context.loaders.job.load(int(self.job_id))
        return Job.of(job) if job else None
