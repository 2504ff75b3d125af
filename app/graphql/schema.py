"""The GraphQL schema: queries, mutations and subscriptions over the service layer.

Resolvers are thin: parse ids, call one service function, wrap the result. Access rules,
validation and transactions all live in the services.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.types import ExecutionContext, Info

from app.domain.cron_text import describe
from app.domain.errors import DtsError, NotFound, ValidationError
from app.domain.schedule import CronSchedule, load_timezone, occurrences, parse_cron
from app.feed.hub import FeedEvent
from app.graphql.alerts import AlertMutations, AlertQueries
from app.graphql.context import Context
from app.graphql.documents import DocumentCache, ReuseDocuments
from app.graphql.errors import DtsErrors
from app.graphql.inputs import JobFilterInput, JobInput, job_input_dict
from app.graphql.limits import PreviewLimit, preview_budget
from app.graphql.monitors import MonitorMutation, MonitorQuery, MonitorSubscription
from app.graphql.scalars import DATETIME
from app.graphql.types import (
    ApiToken,
    AuditEntry,
    AuthPayload,
    CreatedApiToken,
    Job,
    JobConnection,
    JobEvent,
    LogLine,
    Occurrence,
    Role,
    Run,
    RunConnection,
    RunEvent,
    RunStatus,
    RunTrigger,
    SchedulePreview,
    TokenScope,
    User,
    WorkerInfo,
    decode_cursor,
    gid,
)
from app.services import api_tokens, audit
from app.services.access import Principal, can_read
from app.services.inspector import check_count, check_zones, compute_off_loop
from app.services.jobs import JobFilter
from app.services.monitors import MONITOR_CHANGED
from app.services.workers import list_workers

log = logging.getLogger("dts.graphql")
T = TypeVar("T")
MAX_PAGE = 200


async def prefixed(prefix: str, call: Callable[[], Awaitable[T]]) -> T:
    """Name input errors by their path in the operation (`input.schedule.cron`)."""
    try:
        return await call()
    except ValidationError as error:
        if error.field and not error.field.startswith(prefix):
            error.field = f"{prefix}.{error.field}"
        raise


def auth_payload(pair: Any) -> AuthPayload:
    return AuthPayload(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        token_type=pair.token_type,
        user=User.of(pair.user),
    )


async def preview(
    cron: str, timezone: str, count: int, start: datetime, zones: list[str]
) -> SchedulePreview:
    """The inspector's checks and bounds (`app/services/inspector.py`), in GraphQL's shape."""
    wanted = check_count(count)
    extra = list(check_zones(zones))
    parsed = parse_cron(cron, field="cron")
    load_timezone(timezone, field="timezone")
    preview_budget().charge(wanted, extra)
    schedule = CronSchedule(parsed.expr, timezone)

    def compute() -> SchedulePreview:
        found = occurrences(schedule, start, wanted)
        return SchedulePreview(
            description=describe(parsed.expr),
            timezone=timezone,
            occurrences=[Occurrence.of(o, extra) for o in found],
        )

    return await compute_off_loop(compute)


@strawberry.type
class Query(MonitorQuery, AlertQueries):
    @strawberry.field(description="The signed-in user (null when anonymous).")
    async def me(self, info: Info[Context, None]) -> User | None:
        principal = await info.context.principal()
        if principal is None:
            return None
        user = await info.context.loaders.user.load(principal.user_id)
        return User.of(user) if user else None

    @strawberry.field(description="Whether anyone may register (DTS_ALLOW_SIGNUP).")
    def signup_open(self, info: Info[Context, None]) -> bool:
        return info.context.services.settings.allow_signup

    @strawberry.field(
        description="The change feed's current position. Read it with your data, then "
        "subscribe with afterEventId set to it: no change in between is missed."
    )
    async def feed_position(self, info: Info[Context, None]) -> strawberry.ID:
        await info.context.require()
        return strawberry.ID(str(info.context.services.feed.last_id))

    @strawberry.field
    async def jobs(
        self,
        info: Info[Context, None],
        first: int = 50,
        after: str | None = None,
        filter: JobFilterInput | None = None,
    ) -> JobConnection:
        principal = await info.context.require()
        f = filter or JobFilterInput()
        found, more = await info.context.services.jobs.list_jobs(
            principal,
            filter=JobFilter(
                type=f.type.value if f.type else None, paused=f.paused, search=f.search
            ),
            first=first,
            after_id=decode_cursor(after),
        )
        return JobConnection.of(found, more)

    @strawberry.field
    async def job(self, info: Info[Context, None], id: strawberry.ID) -> Job | None:
        principal = await info.context.require()
        try:
            return Job.of(await info.context.services.jobs.get_job(principal, gid(id)))
        except NotFound:
            return None

    @strawberry.field
    async def runs(
        self,
        info: Info[Context, None],
        job_id: strawberry.ID | None = None,
        status: list[RunStatus] | None = None,
        first: int = 50,
        after: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> RunConnection:
        principal = await info.context.require()
        found, more = await info.context.services.runs.list_runs(
            principal,
            job_id=gid(job_id, "jobId") if job_id is not None else None,
            statuses=[s.value for s in status] if status else None,
            since=since,
            until=until,
            first=first,
            after_id=decode_cursor(after),
        )
        return RunConnection.of(found, more)

    @strawberry.field
    async def run(self, info: Info[Context, None], id: strawberry.ID) -> Run | None:
        principal = await info.context.require()
        try:
            return Run.of(await info.context.services.runs.get_run(principal, gid(id)))
        except NotFound:
            return None

    @strawberry.field(
        description="Next occurrences of a cron expression, DST-aware (the inspector)."
    )
    async def preview_schedule(
        self,
        info: Info[Context, None],
        cron: str,
        timezone: str = "UTC",
        count: int = 10,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        zones: list[str] | None = None,
    ) -> SchedulePreview:
        start = from_ or info.context.services.clock()
        return await preview(cron, timezone, count, start, zones or [])

    @strawberry.field
    async def workers(self, info: Info[Context, None]) -> list[WorkerInfo]:
        principal = await info.context.require()
        services = info.context.services
        views = await list_workers(
            services.db,
            principal,
            now=services.clock(),
            lease_seconds=services.settings.lease_seconds,
        )
        return [
            WorkerInfo(
                id=v.row.id,
                host=v.row.host,
                pid=v.row.pid,
                version=v.row.version,
                started_at=v.row.started_at,
                last_heartbeat_at=v.row.last_heartbeat_at,
                stopped_at=v.row.stopped_at,
                running=v.row.running,
                capacity=v.row.capacity,
                alive=v.alive,
            )
            for v in views
        ]

    @strawberry.field(description="All accounts (admins only).")
    async def users(self, info: Info[Context, None]) -> list[User]:
        principal = await info.context.require()
        return [User.of(u) for u in await info.context.services.auth.list_users(principal)]

    @strawberry.field
    async def api_tokens(
        self, info: Info[Context, None], all_users: bool = False
    ) -> list[ApiToken]:
        principal = await info.context.require()
        tokens = await api_tokens.list_api_tokens(
            info.context.services.db, principal, all_users=all_users
        )
        return [ApiToken.of(t) for t in tokens]

    @strawberry.field(description="Who changed what (admins only), newest first.")
    async def audit_log(
        self, info: Info[Context, None], first: int = 50, before: strawberry.ID | None = None
    ) -> list[AuditEntry]:
        principal = await info.context.require()
        entries = await audit.list_entries(
            info.context.services.db,
            principal,
            limit=first,
            before_id=gid(before, "before") if before is not None else None,
        )
        return [AuditEntry.of(e) for e in entries]


@strawberry.type
class Mutation(MonitorMutation, AlertMutations):
    @strawberry.mutation(description="Create an account and sign in.")
    async def register(self, info: Info[Context, None], email: str, password: str) -> AuthPayload:
        ctx = info.context
        await ctx.services.auth.register(email, password, ip=ctx.ip)
        pair = await ctx.services.auth.login(email, password, ip=ctx.ip, user_agent=ctx.user_agent)
        return auth_payload(pair)

    @strawberry.mutation
    async def login(self, info: Info[Context, None], email: str, password: str) -> AuthPayload:
        ctx = info.context
        pair = await ctx.services.auth.login(email, password, ip=ctx.ip, user_agent=ctx.user_agent)
        return auth_payload(pair)

    @strawberry.mutation(description="Trade a refresh token for a new pair (it is rotated).")
    async def refresh_token(self, info: Info[Context, None], refresh_token: str) -> AuthPayload:
        ctx = info.context
        pair = await ctx.services.auth.refresh(refresh_token, ip=ctx.ip, user_agent=ctx.user_agent)
        return auth_payload(pair)

    @strawberry.mutation
    async def logout(self, info: Info[Context, None], refresh_token: str) -> bool:
        await info.context.services.auth.logout(refresh_token)
        return True

    @strawberry.mutation(
        description="Always answers true; an e-mail goes out if the account exists."
    )
    async def request_password_reset(self, info: Info[Context, None], email: str) -> bool:
        await info.context.services.auth.request_password_reset(email, ip=info.context.ip)
        return True

    @strawberry.mutation
    async def reset_password(self, info: Info[Context, None], token: str, password: str) -> bool:
        await info.context.services.auth.reset_password(token, password, ip=info.context.ip)
        return True

    @strawberry.mutation
    async def change_password(
        self, info: Info[Context, None], old_password: str, new_password: str
    ) -> AuthPayload:
        ctx = info.context
        principal = await ctx.require()
        pair = await ctx.services.auth.change_password(
            principal, old_password, new_password, ip=ctx.ip, user_agent=ctx.user_agent
        )
        return auth_payload(pair)

    @strawberry.mutation
    async def create_job(self, info: Info[Context, None], input: JobInput) -> Job:
        ctx = info.context
        principal = await ctx.require()
        data = await prefixed("input", _async(lambda: job_input_dict(input)))
        job = await prefixed(
            "input", lambda: ctx.services.jobs.create_job(principal, data, ip=ctx.ip)
        )
        return Job.of(job)

    @strawberry.mutation(description="Change a job; only the fields sent change.")
    async def update_job(
        self, info: Info[Context, None], id: strawberry.ID, input: JobInput
    ) -> Job:
        ctx = info.context
        principal = await ctx.require()
        job_id = gid(id)  # outside `prefixed`: the bad argument is `id`, not `input.id`
        data = await prefixed("input", _async(lambda: job_input_dict(input)))
        job = await prefixed(
            "input", lambda: ctx.services.jobs.update_job(principal, job_id, data, ip=ctx.ip)
        )
        return Job.of(job)

    @strawberry.mutation
    async def delete_job(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        await ctx.services.jobs.delete_job(await ctx.require(), gid(id), ip=ctx.ip)
        return id

    @strawberry.mutation
    async def pause_job(self, info: Info[Context, None], id: strawberry.ID) -> Job:
        ctx = info.context
        job = await ctx.services.jobs.set_paused(await ctx.require(), gid(id), True, ip=ctx.ip)
        return Job.of(job)

    @strawberry.mutation(description="Resume; catchUp lets the misfire policy handle the pause.")
    async def resume_job(
        self, info: Info[Context, None], id: strawberry.ID, catch_up: bool = False
    ) -> Job:
        ctx = info.context
        job = await ctx.services.jobs.set_paused(
            await ctx.require(), gid(id), False, catch_up=catch_up, ip=ctx.ip
        )
        return Job.of(job)

    @strawberry.mutation(description="Queue a run now, subject to the concurrency policy.")
    async def trigger_job(self, info: Info[Context, None], id: strawberry.ID) -> Run:
        ctx = info.context
        return Run.of(await ctx.services.runs.trigger_job(await ctx.require(), gid(id), ip=ctx.ip))

    @strawberry.mutation
    async def cancel_run(self, info: Info[Context, None], id: strawberry.ID) -> Run:
        ctx = info.context
        return Run.of(await ctx.services.runs.cancel_run(await ctx.require(), gid(id), ip=ctx.ip))

    @strawberry.mutation(description="Queue another attempt of a finished run's occurrence.")
    async def retry_run(self, info: Info[Context, None], id: strawberry.ID) -> Run:
        ctx = info.context
        return Run.of(await ctx.services.runs.retry_run(await ctx.require(), gid(id), ip=ctx.ip))

    @strawberry.mutation
    async def create_api_token(
        self, info: Info[Context, None], name: str, scope: TokenScope = TokenScope.READ
    ) -> CreatedApiToken:
        ctx = info.context
        token, secret = await api_tokens.create_api_token(
            ctx.services.db, await ctx.require(), name, scope.value, ip=ctx.ip
        )
        return CreatedApiToken(token=secret, api_token=ApiToken.of(token))

    @strawberry.mutation
    async def revoke_api_token(self, info: Info[Context, None], id: strawberry.ID) -> ApiToken:
        ctx = info.context
        token = await api_tokens.revoke_api_token(
            ctx.services.db, await ctx.require(), gid(id), ip=ctx.ip
        )
        return ApiToken.of(token)

    @strawberry.mutation(description="Change a user's role (admins only).")
    async def set_user_role(
        self, info: Info[Context, None], user_id: strawberry.ID, role: Role
    ) -> User:
        ctx = info.context
        user = await ctx.services.auth.set_user_role(
            await ctx.require(), gid(user_id, "userId"), role.value, ip=ctx.ip
        )
        return User.of(user)

    @strawberry.mutation(description="Disable or re-enable a user (admins only).")
    async def set_user_disabled(
        self, info: Info[Context, None], user_id: strawberry.ID, disabled: bool
    ) -> User:
        ctx = info.context
        user = await ctx.services.auth.set_user_disabled(
            await ctx.require(), gid(user_id, "userId"), disabled, ip=ctx.ip
        )
        return User.of(user)

    @strawberry.mutation(description="Create an account for someone (admins only).")
    async def create_user(
        self, info: Info[Context, None], email: str, password: str, role: Role = Role.MEMBER
    ) -> User:
        ctx = info.context
        user = await ctx.services.auth.create_user_as_admin(
            await ctx.require(), email, password, role.value, ip=ctx.ip
        )
        return User.of(user)


def _async(call: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def run() -> T:
        return call()

    return run


RUN_STATUS_KINDS = {
    "run.queued",
    "run.started",
    "run.finished",
    "run.cancelled",
    "run.skipped",
    "run.missed",
}


def _status(event: FeedEvent) -> RunStatus | None:
    status = event.payload.get("status")
    try:
        return RunStatus(status) if status else None
    except ValueError:
        return None


def _run_event(event: FeedEvent) -> RunEvent:
    payload = event.payload
    trigger = payload.get("trigger")
    scheduled = payload.get("scheduledFor")
    return RunEvent(
        event_id=strawberry.ID(str(event.id)),
        kind=event.kind,
        job_id=strawberry.ID(str(event.job_id)) if event.job_id else None,
        run_id=strawberry.ID(str(event.run_id)) if event.run_id else None,
        status=_status(event),
        attempt=payload.get("attempt"),
        trigger=RunTrigger(trigger) if trigger in ("schedule", "manual", "retry") else None,
        scheduled_for=datetime.fromisoformat(scheduled) if scheduled else None,
        error=payload.get("error"),
        at=event.created_at,
    )


def _visible(principal: Principal, event: FeedEvent) -> bool:
    return event.owner_id is not None and can_read(principal, event.owner_id)


def _after(value: strawberry.ID | None, field: str) -> int | None:
    if value is None:
        return None
    number = int(str(value)) if str(value).isdigit() else -1
    if number < 0:
        raise ValidationError(f"{value!r} is not an event id", field=field)
    return number


@strawberry.type
class Subscription(MonitorSubscription):
    @strawberry.subscription(
        description="Run status changes (queued, started, finished…), for one job or all jobs "
        "you may read. Pass the last eventId you saw as afterEventId to miss nothing."
    )
    async def run_events(
        self,
        info: Info[Context, None],
        job_id: strawberry.ID | None = None,
        after_event_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[RunEvent, None]:
        principal = await info.context.require()
        wanted = gid(job_id, "jobId") if job_id is not None else None
        if wanted is not None:
            await info.context.services.jobs.get_job(principal, wanted)  # 404 if not readable
        feed = info.context.services.feed
        async for event in feed.subscribe(_after(after_event_id, "afterEventId")):
            if event.kind not in RUN_STATUS_KINDS or not _visible(principal, event):
                continue
            if wanted is not None and event.job_id != wanted:
                continue
            yield _run_event(event)

    @strawberry.subscription(
        description="A run's log lines as they are written, after afterSeq; ends when the "
        "run has finished and every line was sent."
    )
    async def run_log(
        self, info: Info[Context, None], run_id: strawberry.ID, after_seq: int = 0
    ) -> AsyncGenerator[LogLine, None]:
        principal = await info.context.require()
        services = info.context.services
        run_pk = gid(run_id, "runId")
        # The feed position is taken before anything is read: every log batch and the
        # finish written after this point is then either in the backlog or in the feed.
        start = services.feed.last_id
        run = await services.runs.get_run(principal, run_pk)  # access check, 404 if hidden
        seen = after_seq
        while True:
            rows = await services.runs.logs(principal, run_pk, after_seq=seen, limit=5000)
            for row in rows:
                seen = row.seq
                yield LogLine(seq=row.seq, ts=row.ts, stream=row.stream, text=row.text)
            if len(rows) < 5000:
                break
        if run.status not in ("queued", "running"):
            return  # the worker writes every line before it records the outcome
        async for event in services.feed.subscribe(start):
            if event.run_id != run_pk:
                continue
            if event.kind == "run.log":
                for line in event.payload.get("lines", []):
                    if line["seq"] > seen:
                        seen = line["seq"]
                        yield LogLine(
                            seq=line["seq"],
                            ts=datetime.fromisoformat(line["ts"]),
                            stream=line["stream"],
                            text=line["text"],
                        )
            elif event.kind in ("run.finished", "run.cancelled", "run.queued"):
                status = event.payload.get("status")
                if status not in ("queued", "running"):
                    return

    @strawberry.subscription(
        description="Job changes (created, updated, paused, resumed, deleted) and run status "
        "changes, for the jobs you may read: what a live job list needs."
    )
    async def job_events(
        self, info: Info[Context, None], after_event_id: strawberry.ID | None = None
    ) -> AsyncGenerator[JobEvent, None]:
        principal = await info.context.require()
        feed = info.context.services.feed
        async for event in feed.subscribe(_after(after_event_id, "afterEventId")):
            if event.kind in ("run.log", MONITOR_CHANGED) or not _visible(principal, event):
                continue
            yield JobEvent(
                event_id=strawberry.ID(str(event.id)),
                kind=event.kind,
                job_id=strawberry.ID(str(event.job_id)) if event.job_id else None,
                run_id=strawberry.ID(str(event.run_id)) if event.run_id else None,
                status=_status(event) if event.kind in RUN_STATUS_KINDS else None,
                at=event.created_at,
            )


class DtsSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only the unexpected: a user's bad input is an answer, not a server problem."""
        for error in errors:
            original = error.original_error
            if original is not None and not isinstance(original, DtsError | GraphQLError):
                log.error("unexpected error in %s", error.path, exc_info=original)


# The limits' validation rules, built once: QueryDepthLimiter and MaxAliasesLimiter make a
# new rule class per instance, and a document validated before is recognised only under the
# very same rules (see app/graphql/documents.py).
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=10).validation_rules,
    *MaxAliasesLimiter(max_alias_count=30).validation_rules,
]
DOCUMENTS = DocumentCache()

schema = DtsSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    scalar_overrides={datetime: DATETIME},
    extensions=[
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=5000),
        lambda: ReuseDocuments(DOCUMENTS),
        PreviewLimit,
        DtsErrors,
    ],
)
