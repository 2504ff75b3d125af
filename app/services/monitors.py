"""Heartbeat monitors: create and change them, record pings, and check deadlines each tick.

Every state change — by a ping or by the clock — goes through `on_transition`, in the
transaction that makes it, so the change feed (and, later, notifications) sees each
transition exactly once. The tick's transitions are compare-and-set updates (`WHERE
state = old AND deadline_at <= now`): however many workers tick at once, one of them
makes each transition and the others update nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import Monitor, MonitorPing
from app.db.types import utcnow
from app.domain.errors import NotFound, ValidationError, shown
from app.domain.monitor_state import (
    Change,
    Expectation,
    MonitorView,
    after_deadline,
    after_ping,
    check_grace,
    check_max_duration,
    check_period,
)
from app.domain.schedule import load_timezone, validate_cron
from app.feed.events import emit_one
from app.services import alerts
from app.services.access import (
    Principal,
    ensure_can_read,
    ensure_may_write,
    owner_filter,
)
from app.services.alert_cleanup import forget_subject

log = logging.getLogger("dts.monitors")

MONITOR_CHANGED = "monitor.changed"
MAX_PING_BODY = 100 * 1024  # bytes; a bigger body is refused (413)
PINGS_KEPT = 100  # per monitor; older pings are deleted as new ones arrive
MAX_NAME = 200
DEFAULT_GRACE = 300.0
MAX_PAGE = 200
TICK_BATCH = 500

Clock = Callable[[], datetime]


def view_of(monitor: Monitor) -> MonitorView:
    return MonitorView(
        state=monitor.state,
        expectation=expectation_of(monitor),
        grace_seconds=monitor.grace_seconds,
        max_duration_seconds=monitor.max_duration_seconds,
        next_expected_at=monitor.next_expected_at,
        deadline_at=monitor.deadline_at,
    )


def expectation_of(monitor: Monitor) -> Expectation:
    if monitor.schedule_kind == "cron":
        return Expectation(cron=monitor.cron, timezone=monitor.timezone)
    return Expectation(period_seconds=monitor.period_seconds, timezone=monitor.timezone)


async def on_transition(
    session: AsyncSession, monitor: Monitor, old: str, new: str, now: datetime
) -> None:
    """The one place a monitor's state change is announced: the change feed and alerting.

    Called inside the transaction that made the change, after `monitor` holds the new
    state; it commits or rolls back with it.
    """
    await emit_one(
        session,
        MONITOR_CHANGED,
        owner_id=monitor.owner_id,
        payload={
            "monitorId": monitor.id,
            "name": monitor.name,
            "from": old,
            "to": new,
            "at": now.isoformat(),
            "ranTooLong": monitor.ran_too_long,
        },
    )
    # Notifications (docs/alerting.md): one incident per missed or failed expected ping;
    # late then down of the same expectation count once, the next good ping recovers it.
    if new in ("late", "down"):
        kind = "ran_too_long" if monitor.ran_too_long else new
        expected = monitor.next_expected_at.isoformat() if monitor.next_expected_at else ""
        await alerts.report(
            session,
            subject="monitor",
            subject_id=monitor.id,
            owner_id=monitor.owner_id,
            kind=kind,
            occurrence_key=f"{monitor.id}:{expected}",
            summary=f"monitor {monitor.name} is {new}",
            at=now,
            name=monitor.name,
        )
    elif new == "up" and old != "up":
        # Any way back to up recovers (late or down, but also late → /start → success,
        # or a paused-then-resumed monitor); with nothing failing this writes nothing.
        await alerts.report(
            session,
            subject="monitor",
            subject_id=monitor.id,
            owner_id=monitor.owner_id,
            kind="up",
            occurrence_key=f"{monitor.id}:up:{now.isoformat()}",
            summary=f"monitor {monitor.name} is up",
            at=now,
            name=monitor.name,
        )


def _apply(monitor: Monitor, change: Change) -> None:
    monitor.state = change.state
    monitor.next_expected_at = change.next_expected_at
    monitor.deadline_at = None if monitor.paused else change.deadline_at
    monitor.ran_too_long = change.ran_too_long


# --- input -----------------------------------------------------------------------------


@dataclass
class MonitorInput:
    name: str
    schedule_kind: str
    cron: str | None
    timezone: str
    period_seconds: float | None
    grace_seconds: float
    max_duration_seconds: float | None


_FIELDS = {"name", "cron", "timezone", "periodSeconds", "graceSeconds", "maxDurationSeconds"}


def parse_monitor_input(data: object, current: Monitor | None = None) -> MonitorInput:
    """The API's monitor JSON (`name`, `cron` + `timezone` or `periodSeconds`,
    `graceSeconds`, `maxDurationSeconds`); on update, fields not sent keep their value."""
    if not isinstance(data, Mapping):
        raise ValidationError("expected a JSON object with the monitor's fields", field="monitor")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ValidationError(
            f"unknown field; use {', '.join(sorted(_FIELDS))}", field=str(unknown[0])
        )
    name = data.get("name", current.name if current else None)
    if name is not None and not isinstance(name, str):
        raise ValidationError(f"must be text, got {shown(name)}", field="name")
    if name is None or not name.strip():
        raise ValidationError("a monitor needs a name", field="name")
    name = name.strip()
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise ValidationError(
            f"must be at most {MAX_NAME} characters, without control characters", field="name"
        )
    cron = data.get("cron", current.cron if current else None)
    period = data.get("periodSeconds", current.period_seconds if current else None)
    if "cron" in data and data["cron"] is not None and "periodSeconds" not in data:
        period = None
    if "periodSeconds" in data and data["periodSeconds"] is not None and "cron" not in data:
        cron = None
    if (cron is None) == (period is None):
        raise ValidationError(
            "give exactly one of cron (with timezone) or periodSeconds", field="cron"
        )
    timezone = data.get("timezone", current.timezone if current else "UTC")
    if timezone is None:
        timezone = "UTC"
    if not isinstance(timezone, str):
        raise ValidationError(f"must be an IANA zone name, got {shown(timezone)}", field="timezone")
    load_timezone(timezone, "timezone")
    if cron is not None:
        if not isinstance(cron, str):
            raise ValidationError(f"must be a cron expression, got {shown(cron)}", field="cron")
        cron = validate_cron(cron, "cron")
    else:
        period = check_period(period)
    grace = data.get("graceSeconds", current.grace_seconds if current else DEFAULT_GRACE)
    grace = DEFAULT_GRACE if grace is None else check_grace(grace)
    max_duration = data.get("maxDurationSeconds", current.max_duration_seconds if current else None)
    if max_duration is not None:
        max_duration = check_max_duration(max_duration)
    return MonitorInput(
        name=name,
        schedule_kind="cron" if cron is not None else "period",
        cron=cron,
        timezone=timezone,
        period_seconds=period,
        grace_seconds=grace,
        max_duration_seconds=max_duration,
    )


def _ensure_can_change(principal: Principal, monitor: Monitor) -> None:
    ensure_can_read(principal, monitor.owner_id, "monitor")
    ensure_may_write(principal)
    if monitor.owner_id != principal.user_id and not principal.is_admin:
        raise NotFound("monitor not found")


# --- the service -------------------------------------------------------------------------


class MonitorService:
    """Monitors as the API sees them: owner-only like jobs (admins and viewers read all)."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def list_monitors(
        self, principal: Principal, *, first: int = 50, after_id: int | None = None
    ) -> tuple[list[Monitor], bool]:
        if not 1 <= first <= MAX_PAGE:
            raise ValidationError(f"must be from 1 to {MAX_PAGE}, got {first}", field="first")
        query = select(Monitor).where(owner_filter(principal, Monitor.owner_id))
        if after_id is not None:
            query = query.where(Monitor.id < after_id)
        async with self.db.session() as session:  # newest first, as every list of the API
            rows = list(await session.scalars(query.order_by(Monitor.id.desc()).limit(first + 1)))
        return rows[:first], len(rows) > first

    async def get_monitor(self, principal: Principal, monitor_id: int) -> Monitor:
        async with self.db.session() as session:
            monitor = await session.get(Monitor, monitor_id)
        if monitor is None:
            raise NotFound("monitor not found", field="id")
        ensure_can_read(principal, monitor.owner_id, "monitor")
        return monitor

    async def create_monitor(self, principal: Principal, data: object) -> Monitor:
        ensure_may_write(principal)
        spec = parse_monitor_input(data)
        now = self.clock()
        monitor = Monitor(
            owner_id=principal.user_id,
            ping_key=str(uuid.uuid4()),
            state="new",
            paused=False,
            ran_too_long=False,
            created_at=now,
            updated_at=now,
            **spec.__dict__,
        )
        # Nothing is expected before the first ping; show when it would be.
        monitor.next_expected_at = expectation_of(monitor).next_after(now)
        async with self.db.transaction() as session:
            session.add(monitor)
            await session.flush()
            await emit_one(
                session,
                MONITOR_CHANGED,
                owner_id=monitor.owner_id,
                payload={"monitorId": monitor.id, "name": monitor.name, "change": "created"},
            )
        return monitor

    async def update_monitor(self, principal: Principal, monitor_id: int, data: object) -> Monitor:
        now = self.clock()
        async with self.db.transaction() as session:
            monitor = await self._locked(session, monitor_id)
            _ensure_can_change(principal, monitor)
            spec = parse_monitor_input(data, monitor)
            for key, value in spec.__dict__.items():
                setattr(monitor, key, value)
            # A new schedule applies from the last ping (or now, if none came yet).
            since = monitor.last_ping_at or now
            expected = expectation_of(monitor).next_after(since)
            monitor.next_expected_at = expected
            if monitor.state == "up" and not monitor.paused:
                monitor.deadline_at = expected
            monitor.updated_at = now
            await emit_one(
                session,
                MONITOR_CHANGED,
                owner_id=monitor.owner_id,
                payload={"monitorId": monitor.id, "name": monitor.name, "change": "updated"},
            )
        return monitor

    async def delete_monitor(self, principal: Principal, monitor_id: int) -> None:
        async with self.db.transaction() as session:
            monitor = await self._locked(session, monitor_id)
            _ensure_can_change(principal, monitor)
            await emit_one(
                session,
                MONITOR_CHANGED,
                owner_id=monitor.owner_id,
                payload={"monitorId": monitor.id, "name": monitor.name, "change": "deleted"},
            )
            await forget_subject(session, "monitor", monitor.id)
            await session.delete(monitor)

    async def set_paused(self, principal: Principal, monitor_id: int, paused: bool) -> Monitor:
        """Paused: no late/down while paused. Resuming starts over (`new`) so a monitor
        paused for a week is not down the moment it is resumed; its next ping makes it up."""
        now = self.clock()
        async with self.db.transaction() as session:
            monitor = await self._locked(session, monitor_id)
            _ensure_can_change(principal, monitor)
            if monitor.paused == paused:
                return monitor
            monitor.paused = paused
            monitor.deadline_at = None
            old = monitor.state
            if not paused:
                monitor.state = "new"
                monitor.ran_too_long = False
                monitor.next_expected_at = expectation_of(monitor).next_after(now)
            monitor.updated_at = now
            await emit_one(
                session,
                MONITOR_CHANGED,
                owner_id=monitor.owner_id,
                payload={
                    "monitorId": monitor.id,
                    "name": monitor.name,
                    "change": "paused" if paused else "resumed",
                    "from": old,
                    "to": monitor.state,
                },
            )
        return monitor

    async def pings(self, principal: Principal, monitor_id: int, first: int) -> list[MonitorPing]:
        await self.get_monitor(principal, monitor_id)
        return await recent_pings(self.db, monitor_id, first)

    async def _locked(self, session: AsyncSession, monitor_id: int) -> Monitor:
        monitor = await session.scalar(
            select(Monitor).where(Monitor.id == monitor_id).with_for_update()
        )
        if monitor is None:
            raise NotFound("monitor not found", field="id")
        return monitor


async def recent_pings(db: Database, monitor_id: int, first: int) -> list[MonitorPing]:
    if not 1 <= first <= PINGS_KEPT:
        raise ValidationError(f"must be from 1 to {PINGS_KEPT}, got {first}", field="first")
    async with db.session() as session:
        rows = await session.scalars(
            select(MonitorPing)
            .where(MonitorPing.monitor_id == monitor_id)
            .order_by(MonitorPing.id.desc())
            .limit(first)
        )
        return list(rows)


# --- pings ---------------------------------------------------------------------------------


def ping_text(body: bytes) -> str:
    """A ping body as storable text: invalid UTF-8 and NUL (PostgreSQL text cannot hold it)
    become U+FFFD."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def find_monitor_id(db: Database, ping_key: str) -> int | None:
    async with db.session() as session:
        return await session.scalar(select(Monitor.id).where(Monitor.ping_key == ping_key))


async def record_ping(
    db: Database,
    ping_key: str,
    kind: str,
    *,
    now: datetime,
    exit_status: int | None = None,
    body: bytes = b"",
    remote_addr: str | None = None,
    user_agent: str | None = None,
) -> bool:
    """Store a ping and apply it to its monitor; False when no monitor has this key."""
    async with db.transaction() as session:
        monitor = await session.scalar(
            select(Monitor).where(Monitor.ping_key == ping_key).with_for_update()
        )
        if monitor is None:
            return False
        session.add(
            MonitorPing(
                monitor_id=monitor.id,
                at=now,
                kind=kind,
                exit_status=exit_status,
                body=ping_text(body[:MAX_PING_BODY]),
                remote_addr=(remote_addr or None) and remote_addr[:64],
                user_agent=(user_agent or None) and user_agent[:255],
            )
        )
        old = monitor.state
        change = after_ping(view_of(monitor), kind, now)
        if kind == "start":
            monitor.last_start_at = now
        else:
            monitor.last_ping_at = now
        # A ping to a paused monitor resumes it, as on Healthchecks: the job runs again.
        monitor.paused = False
        _apply(monitor, change)
        monitor.updated_at = now
        await session.flush()
        if change.state != old:
            await on_transition(session, monitor, old, change.state, now)
        await _prune_pings(session, monitor.id)
    return True


async def _prune_pings(session: AsyncSession, monitor_id: int) -> None:
    oldest_kept = await session.scalar(
        select(MonitorPing.id)
        .where(MonitorPing.monitor_id == monitor_id)
        .order_by(MonitorPing.id.desc())
        .offset(PINGS_KEPT - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        await session.execute(
            delete(MonitorPing).where(
                MonitorPing.monitor_id == monitor_id, MonitorPing.id < oldest_kept
            )
        )


# --- the tick ------------------------------------------------------------------------------


async def check_monitors(db: Database, now: datetime, *, batch: int = TICK_BATCH) -> int:
    """Make every transition whose deadline has passed; returns how many this caller made.

    Runs in every worker's tick. Each transition is a compare-and-set: the UPDATE matches
    only while the monitor is still in the state and past the deadline it was read with,
    so of several workers reading the same monitor exactly one changes it (PostgreSQL
    re-checks the WHERE after waiting for a concurrent update; SQLite serialises writers).
    """
    made = 0
    due_now = (
        Monitor.deadline_at <= now,
        Monitor.deadline_at.is_not(None),
        Monitor.paused.is_(False),
    )
    # Read first: most ticks find nothing, and a write transaction would take SQLite's
    # write lock from every worker on every poll.
    async with db.session() as session:
        if await session.scalar(select(Monitor.id).where(*due_now).limit(1)) is None:
            return 0
    while True:
        async with db.transaction() as session:
            # Ordered by the deadline, so the partial index `ix_monitors_due` answers it
            # (ordered by id, a planner may walk every monitor instead).
            due = list(
                await session.scalars(
                    select(Monitor)
                    .where(*due_now)
                    .order_by(Monitor.deadline_at, Monitor.id)
                    .limit(batch)
                )
            )
            made_now = 0
            for monitor in due:
                made_now += await _advance(session, monitor, now)
        made += made_now
        # A full batch that changed something: there may be more (a monitor whose late
        # deadline has passed too goes on to down in the next round, as it should).
        if len(due) < batch or made_now == 0:
            return made


async def _advance(session: AsyncSession, monitor: Monitor, now: datetime) -> int:
    try:
        change = after_deadline(view_of(monitor))
    except Exception as error:  # a stored schedule that no longer parses (tzdata?)
        log.error("monitor %s has an invalid schedule: %s", monitor.id, error)
        return 0
    if change is None:
        return 0
    old = monitor.state
    result = await session.execute(
        update(Monitor)
        .where(
            Monitor.id == monitor.id,
            Monitor.state == old,
            Monitor.deadline_at == monitor.deadline_at,
            Monitor.deadline_at <= now,
            Monitor.paused.is_(False),
        )
        .values(
            state=change.state,
            next_expected_at=change.next_expected_at,
            deadline_at=change.deadline_at,
            ran_too_long=change.ran_too_long,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return 0  # another worker made this transition
    session.expunge(monitor)  # written by the UPDATE above; the ORM must not write it again
    _apply(monitor, change)
    await on_transition(session, monitor, old, change.state, now)
    return 1


async def next_monitor_deadline(db: Database) -> datetime | None:
    """When the earliest monitor deadline falls (an index lookup): how long a worker may sleep."""
    async with db.session() as session:
        return await session.scalar(
            select(func.min(Monitor.deadline_at)).where(Monitor.paused.is_(False))
        )
