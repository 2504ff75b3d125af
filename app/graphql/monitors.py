"""GraphQL for heartbeat monitors: types, queries and mutations over `MonitorService`.

`schema.py` mixes `MonitorQuery` and `MonitorMutation` into its Query and Mutation.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from app.db import models
from app.domain.errors import NotFound, ValidationError
from app.domain.schedule import CronSchedule, iter_occurrences, load_timezone
from app.domain.schedule import Occurrence as DomainOccurrence
from app.graphql.context import Context
from app.graphql.types import Occurrence, PageInfo, User, decode_cursor, encode_cursor, gid
from app.services.access import can_read, ensure_can_read
from app.services.inspector import check_zones
from app.services.monitors import MONITOR_CHANGED, PINGS_KEPT, MonitorService


@strawberry.enum
class MonitorState(Enum):
    NEW = "new"
    UP = "up"
    LATE = "late"
    DOWN = "down"
    RUNNING = "running"


@strawberry.enum
class PingKind(Enum):
    SUCCESS = "success"
    START = "start"
    FAIL = "fail"


@strawberry.type
class MonitorPing:
    id: strawberry.ID
    at: datetime
    kind: PingKind
    exit_status: int | None
    body: str = strawberry.field(description="What the job sent (≤ 100 KB): its log.")
    remote_addr: str | None
    user_agent: str | None

    @classmethod
    def of(cls, ping: models.MonitorPing) -> MonitorPing:
        return cls(
            id=strawberry.ID(str(ping.id)),
            at=ping.at,
            kind=PingKind(ping.kind),
            exit_status=ping.exit_status,
            body=ping.body,
            remote_addr=ping.remote_addr,
            user_agent=ping.user_agent,
        )


def _expected_occurrence(monitor: models.Monitor, at: datetime) -> DomainOccurrence:
    """The expected ping time as an occurrence, with the DST note cron gives it."""
    if monitor.schedule_kind == "cron" and monitor.cron is not None:
        schedule = CronSchedule(monitor.cron, monitor.timezone)
        found = next(iter_occurrences(schedule, at - timedelta(microseconds=1)), None)
        if found is not None and found.at == at:
            return found
    zone = load_timezone(monitor.timezone)
    return DomainOccurrence(at=at, local=at.astimezone(zone), timezone=monitor.timezone)


@strawberry.type(description="A heartbeat monitor: a job running elsewhere pings its URL.")
class Monitor:
    id: strawberry.ID
    name: str
    cron: str | None
    timezone: str
    period_seconds: float | None
    grace_seconds: float
    max_duration_seconds: float | None
    state: MonitorState
    ran_too_long: bool = strawberry.field(
        description="A /start was not followed by success within maxDurationSeconds."
    )
    paused: bool
    last_ping_at: datetime | None
    last_start_at: datetime | None
    created_at: datetime
    updated_at: datetime
    _model: strawberry.Private[models.Monitor]

    @classmethod
    def of(cls, monitor: models.Monitor) -> Monitor:
        return cls(
            id=strawberry.ID(str(monitor.id)),
            name=monitor.name,
            cron=monitor.cron,
            timezone=monitor.timezone,
            period_seconds=monitor.period_seconds,
            grace_seconds=monitor.grace_seconds,
            max_duration_seconds=monitor.max_duration_seconds,
            state=MonitorState(monitor.state),
            ran_too_long=monitor.ran_too_long,
            paused=monitor.paused,
            last_ping_at=monitor.last_ping_at,
            last_start_at=monitor.last_start_at,
            created_at=monitor.created_at,
            updated_at=monitor.updated_at,
            _model=monitor,
        )

    @strawberry.field(description="The secret URL the job pings (anyone with it can ping).")
    def ping_url(self, info: Info[Context, None]) -> str:
        base = info.context.services.settings.app_url.rstrip("/")
        return f"{base}/ping/{self._model.ping_key}"

    @strawberry.field(
        description="When the next ping is expected, in the monitor's zone and in `zones` "
        "(e.g. yours); null while paused."
    )
    def next_expected(
        self, info: Info[Context, None], zones: list[str] | None = None
    ) -> Occurrence | None:
        viewer_zones = list(check_zones(zones))
        at = self._model.next_expected_at
        if at is None or self._model.paused:
            return None
        return Occurrence.of(_expected_occurrence(self._model, at), viewer_zones)

    @strawberry.field(description="The newest pings first (1-100).")
    async def pings(self, info: Info[Context, None], first: int = 20) -> list[MonitorPing]:
        principal = await info.context.require()
        ensure_can_read(principal, self._model.owner_id, "monitor")
        key = (self._model.id, _first(first, PINGS_KEPT))
        return [MonitorPing.of(p) for p in await info.context.loaders.monitor_pings.load(key)]

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> User | None:
        user = await info.context.loaders.user.load(self._model.owner_id)
        return User.of(user) if user else None


@strawberry.type
class MonitorEdge:
    cursor: str
    node: Monitor


@strawberry.type
class MonitorConnection:
    edges: list[MonitorEdge]
    page_info: PageInfo


@strawberry.input(
    description="Give cron (+ timezone) or periodSeconds; on update only the fields sent change."
)
class MonitorInput:
    name: str | None = strawberry.UNSET
    cron: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    period_seconds: float | None = strawberry.UNSET
    grace_seconds: float | None = strawberry.UNSET
    max_duration_seconds: float | None = strawberry.UNSET


_INPUT_NAMES = {
    "name": "name",
    "cron": "cron",
    "timezone": "timezone",
    "period_seconds": "periodSeconds",
    "grace_seconds": "graceSeconds",
    "max_duration_seconds": "maxDurationSeconds",
}


def _input_dict(data: MonitorInput) -> dict[str, Any]:
    return {
        api: getattr(data, attr)
        for attr, api in _INPUT_NAMES.items()
        if getattr(data, attr) is not strawberry.UNSET
    }


def _service(info: Info[Context, None]) -> MonitorService:
    services = info.context.services
    return MonitorService(services.db, clock=services.clock)


def _first(first: int, most: int) -> int:
    if not 1 <= first <= most:
        raise ValidationError(f"must be from 1 to {most}, got {first}", field="first")
    return first


async def _in_input(call: Any) -> Any:
    try:
        return await call
    except ValidationError as error:
        if error.field and not error.field.startswith("input"):
            error.field = f"input.{error.field}"
        raise


@strawberry.type
class MonitorQuery:
    @strawberry.field(description="Your heartbeat monitors (everyone's for admins), newest first.")
    async def monitors(
        self, info: Info[Context, None], first: int = 50, after: str | None = None
    ) -> MonitorConnection:
        principal = await info.context.require()
        found, more = await _service(info).list_monitors(
            principal, first=_first(first, 200), after_id=decode_cursor(after)
        )
        edges = [MonitorEdge(cursor=encode_cursor(m.id), node=Monitor.of(m)) for m in found]
        return MonitorConnection(
            edges=edges, page_info=PageInfo.after([e.cursor for e in edges], more)
        )

    @strawberry.field
    async def monitor(self, info: Info[Context, None], id: strawberry.ID) -> Monitor | None:
        principal = await info.context.require()
        try:
            return Monitor.of(await _service(info).get_monitor(principal, gid(id)))
        except NotFound:
            return None


@strawberry.type
class MonitorMutation:
    @strawberry.mutation(description="Create a monitor; its pingUrl is the secret to give the job.")
    async def create_monitor(self, info: Info[Context, None], input: MonitorInput) -> Monitor:
        principal = await info.context.require()
        data = _input_dict(input)
        return Monitor.of(await _in_input(_service(info).create_monitor(principal, data)))

    @strawberry.mutation(description="Change a monitor; only the fields sent change.")
    async def update_monitor(
        self, info: Info[Context, None], id: strawberry.ID, input: MonitorInput
    ) -> Monitor:
        principal = await info.context.require()
        call = _service(info).update_monitor(principal, gid(id), _input_dict(input))
        return Monitor.of(await _in_input(call))

    @strawberry.mutation
    async def delete_monitor(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        principal = await info.context.require()
        await _service(info).delete_monitor(principal, gid(id))
        return id

    @strawberry.mutation(description="Stop late/down detection until resumed (or pinged).")
    async def pause_monitor(self, info: Info[Context, None], id: strawberry.ID) -> Monitor:
        principal = await info.context.require()
        return Monitor.of(await _service(info).set_paused(principal, gid(id), True))

    @strawberry.mutation(description="Resume; the monitor starts over as new until its next ping.")
    async def resume_monitor(self, info: Info[Context, None], id: strawberry.ID) -> Monitor:
        principal = await info.context.require()
        return Monitor.of(await _service(info).set_paused(principal, gid(id), False))


@strawberry.type(
    description="A monitor was created, changed, paused, resumed or deleted, or "
    "its state moved (from → to)."
)
class MonitorEvent:
    event_id: strawberry.ID
    monitor_id: strawberry.ID
    change: str | None = strawberry.field(
        description="created | updated | paused | resumed | deleted; null for a state move."
    )
    from_state: MonitorState | None
    to_state: MonitorState | None
    ran_too_long: bool
    at: datetime

    @strawberry.field(description="The monitor as it is now (null once deleted).")
    async def monitor(self, info: Info[Context, None]) -> Monitor | None:
        principal = await info.context.require()
        try:
            return Monitor.of(await _service(info).get_monitor(principal, gid(self.monitor_id)))
        except NotFound:
            return None


def _state(value: object) -> MonitorState | None:
    return MonitorState(value) if value in {s.value for s in MonitorState} else None


@strawberry.type
class MonitorSubscription:
    @strawberry.subscription(
        description="Changes of the monitors you may read, live. Pass the last eventId you "
        "saw as afterEventId to miss nothing."
    )
    async def monitor_events(
        self, info: Info[Context, None], after_event_id: strawberry.ID | None = None
    ) -> AsyncGenerator[MonitorEvent, None]:
        principal = await info.context.require()
        after = None
        if after_event_id is not None:
            if not str(after_event_id).isdigit():
                raise ValidationError(
                    f"{after_event_id!r} is not an event id", field="afterEventId"
                )
            after = int(str(after_event_id))
        async for event in info.context.services.feed.subscribe(after):
            if event.kind != MONITOR_CHANGED or event.owner_id is None:
                continue
            if not can_read(principal, event.owner_id):
                continue
            payload = event.payload
            yield MonitorEvent(
                event_id=strawberry.ID(str(event.id)),
                monitor_id=strawberry.ID(str(payload.get("monitorId"))),
                change=payload.get("change"),
                from_state=_state(payload.get("from")),
                to_state=_state(payload.get("to")),
                ran_too_long=bool(payload.get("ranTooLong")),
                at=event.created_at,
            )
