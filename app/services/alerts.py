"""Alerting: turn the final outcomes of jobs (and monitors) into incidents and notifications.

One entry point for every subject: `report` (async, inside the caller's session) and
`apply_outcomes` (sync, inside `Database.run_write`, as the worker's recorder uses it).
Both write in the caller's transaction, so a notification exists if and only if the
outcome that caused it was recorded (the outbox: app.services.outbox delivers it).

A subject's problems form a streak (`alert_streaks`, one locked row per subject). The
streak opens an incident when it reaches the rule's threshold, which notifies each of
the rule's channels once ("opened"); later problems of the same streak only count, and
are reminded of while it stays open if the rule asks to (every N hours, `remind_due`,
swept by the workers). The next success resolves the incident and
notifies once ("recovered"). An occurrence is counted once, however often it is
reported (retries of one occurrence are one failure).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import (
    AlertChannel,
    AlertRule,
    AlertStreak,
    Incident,
    Job,
    Monitor,
    Notification,
)
from app.domain.errors import NotFound, ValidationError
from app.feed.events import EVENTS, event_row
from app.services.access import (
    Principal,
    can_read,
    ensure_may_write,
    owner_filter,
)

Subject = Literal["job", "monitor"]
OK_KINDS = ("succeeded", "recovered", "up")
PROBLEM_KINDS = (
    "failed",
    "timed_out",
    "lost",
    "missed",
    "skipped",
    "late",
    "down",
    "ran_too_long",
)
# Which switch of a rule a problem kind obeys (monitors' problems count as failures).
RULE_SWITCH = {
    "failed": "on_failure",
    "timed_out": "on_timed_out",
    "lost": "on_lost",
    "missed": "on_missed",
    "skipped": "on_skipped",
    "late": "on_failure",
    "down": "on_failure",
    "ran_too_long": "on_failure",
}
# Final run statuses that are alerting outcomes (cancelled is a person's decision: none).
RUN_STATUS_KINDS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "timed_out": "timed_out",
    "lost": "lost",
    "missed": "missed",
    "skipped": "skipped",
}

RULES: Table = AlertRule.__table__  # type: ignore[assignment]
STREAKS: Table = AlertStreak.__table__  # type: ignore[assignment]
INCIDENTS: Table = Incident.__table__  # type: ignore[assignment]
NOTIFICATIONS: Table = Notification.__table__  # type: ignore[assignment]
CHANNELS: Table = AlertChannel.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class SubjectOutcome:
    subject: str  # job | monitor
    subject_id: int
    owner_id: int
    kind: str  # one of OK_KINDS or PROBLEM_KINDS
    occurrence_key: str  # one per occurrence: retries of it share the key
    summary: str
    at: datetime
    name: str = ""


async def report(
    session: AsyncSession,
    *,
    subject: Subject,
    subject_id: int,
    owner_id: int,
    kind: str,
    occurrence_key: str,
    summary: str,
    at: datetime,
    name: str = "",
) -> None:
    """Apply one final outcome of a job or monitor, in `session`'s transaction."""
    outcome = SubjectOutcome(
        subject, subject_id, owner_id, kind, occurrence_key, summary, at, name or ""
    )
    await session.run_sync(lambda sync: apply_outcomes(sync.connection(), [outcome]))


def owners_with_rules(conn: Connection, owner_ids: Iterable[int]) -> set[int]:
    ids = set(owner_ids)
    if not ids:
        return set()
    rows = conn.execute(select(RULES.c.owner_id).where(RULES.c.owner_id.in_(ids)).distinct())
    return set(rows.scalars())


def apply_outcomes(conn: Connection, outcomes: list[SubjectOutcome]) -> int:
    """Apply final outcomes (in order); returns the number of notifications written."""
    if not outcomes:
        return 0
    wanted = owners_with_rules(conn, {o.owner_id for o in outcomes})
    relevant = [o for o in outcomes if o.owner_id in wanted]
    failing = _failing(conn, relevant)
    written = 0
    # Streak rows are locked in one order (stable: a subject's outcomes keep theirs), so
    # two batches touching the same jobs cannot deadlock.
    for outcome in sorted(relevant, key=lambda o: (o.subject, o.subject_id)):
        if outcome.kind in OK_KINDS and (outcome.subject, outcome.subject_id) not in failing:
            continue  # a success, and nothing was failing: nothing to end
        written += _apply(conn, outcome)
    return written


def _failing(conn: Connection, outcomes: list[SubjectOutcome]) -> set[tuple[str, int]]:
    """The subjects of `outcomes` that have a streak to end: a live streak row, or a
    problem earlier in this batch. One read for the batch, so the common case — runs
    that succeed while nothing fails — costs no query per run (bench/alerts.py). Not
    locked: a failure committed concurrently is ordered after this batch's success."""
    found = {(o.subject, o.subject_id) for o in outcomes if o.kind in PROBLEM_KINDS}
    by_subject: dict[str, set[int]] = {}
    for o in outcomes:
        if o.kind in OK_KINDS and (o.subject, o.subject_id) not in found:
            by_subject.setdefault(o.subject, set()).add(o.subject_id)
    for subject, ids in by_subject.items():
        rows = conn.execute(
            select(STREAKS.c.subject_id).where(
                STREAKS.c.subject == subject,
                STREAKS.c.subject_id.in_(sorted(ids)),
                (STREAKS.c.failures > 0) | STREAKS.c.open_incident_id.is_not(None),
            )
        )
        found |= {(subject, int(i)) for i in rows.scalars()}
    return found


def _rule_for(conn: Connection, outcome: SubjectOutcome) -> Any:
    rows = conn.execute(
        select(RULES).where(
            RULES.c.owner_id == outcome.owner_id,
            or_(
                (RULES.c.subject == outcome.subject) & (RULES.c.subject_id == outcome.subject_id),
                (RULES.c.subject == "default") & (RULES.c.subject_id == 0),
            ),
        )
    ).all()
    own = [r for r in rows if r.subject != "default"]
    chosen = own or list(rows)
    return chosen[0] if chosen else None


def _lock_streak(conn: Connection, outcome: SubjectOutcome, *, create: bool) -> Any:
    """The subject's streak row, locked; with `create`, made first if missing (else None
    when there is none: a success with no streak has nothing to end)."""
    key = (STREAKS.c.subject == outcome.subject) & (STREAKS.c.subject_id == outcome.subject_id)
    locked = select(STREAKS).where(key)
    if conn.dialect.name == "postgresql":
        locked = locked.with_for_update()
    if not create:
        return conn.execute(locked).first()
    values = {
        "subject": outcome.subject,
        "subject_id": outcome.subject_id,
        "failures": 0,
        "updated_at": outcome.at,
    }
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(STREAKS).values(values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        # SQLite: the transaction already holds the database's write lock.
        conn.execute(sqlite_insert(STREAKS).values(values).on_conflict_do_nothing())
    return conn.execute(locked).one()


def _apply(conn: Connection, outcome: SubjectOutcome) -> int:
    rule = _rule_for(conn, outcome)
    if rule is None:
        return 0
    problem = outcome.kind in PROBLEM_KINDS
    if problem and not getattr(rule, RULE_SWITCH[outcome.kind]):
        return 0  # a problem this rule ignores neither counts nor resets the streak
    if not problem and outcome.kind not in OK_KINDS:
        raise ValueError(f"unknown alert outcome kind {outcome.kind!r}")
    streak = _lock_streak(conn, outcome, create=problem)
    if streak is None:
        return 0  # a success, and nothing was failing
    if streak.last_occurrence == outcome.occurrence_key:
        return 0  # this occurrence was already counted
    key = (STREAKS.c.subject == outcome.subject) & (STREAKS.c.subject_id == outcome.subject_id)
    written = 0
    if problem:
        failures = streak.failures + 1
        incident_id = streak.open_incident_id
        if incident_id is not None:
            written += _continue_incident(conn, incident_id, outcome)
        elif outcome.subject == "monitor" or failures >= max(1, rule.failure_threshold):
            # A monitor stays down until a ping comes, so its problems never add up to a
            # streak: the threshold is for jobs (docs/monitors.md, "Notifications").
            incident_id, written = _open_incident(conn, rule, outcome, failures)
        conn.execute(
            update(STREAKS)
            .where(key)
            .values(
                failures=failures,
                open_incident_id=incident_id,
                last_occurrence=outcome.occurrence_key,
                updated_at=outcome.at,
            )
        )
        return written
    if streak.open_incident_id is not None:
        written += _resolve_incident(conn, rule, streak.open_incident_id, outcome)
    if streak.failures or streak.open_incident_id is not None:
        conn.execute(
            update(STREAKS)
            .where(key)
            .values(
                failures=0,
                open_incident_id=None,
                last_occurrence=outcome.occurrence_key,
                updated_at=outcome.at,
            )
        )
    return written


def _label(outcome: SubjectOutcome) -> str:
    return f"{outcome.subject} {outcome.name!r}" if outcome.name else outcome.subject


PROBLEM_WORDS = {
    "failed": "failed",
    "timed_out": "timed out",
    "lost": "was lost (its worker died)",
    "missed": "missed a run",
    "skipped": "skipped a run",
    "late": "is late",
    "down": "is down",
    "ran_too_long": "ran too long",
}


def _open_incident(
    conn: Connection, rule: Any, outcome: SubjectOutcome, failures: int
) -> tuple[int, int]:
    incident_id = conn.execute(
        insert(INCIDENTS)
        .values(
            owner_id=outcome.owner_id,
            subject=outcome.subject,
            subject_id=outcome.subject_id,
            kind=outcome.kind,
            status="open",
            summary=outcome.summary[:2000],
            failures=failures,
            opened_at=outcome.at,
            last_failure_at=outcome.at,
            last_notified_at=outcome.at,
            reminders=0,
            remind_at=_next_reminder(rule, outcome.at),
            name=outcome.name[:200],
        )
        .returning(INCIDENTS.c.id)
    ).scalar_one()
    _feed(conn, "incident.opened", outcome, incident_id)
    title = f"[dts] {_label(outcome)} {PROBLEM_WORDS[outcome.kind]}"
    if failures > 1:
        title += f" ({failures} times in a row)"
    written = _notify(conn, rule, outcome, incident_id, "opened", title, failures, None)
    return incident_id, written


def _feed(conn: Connection, kind: str, outcome: SubjectOutcome, incident_id: int) -> None:
    """An incident's change on the change feed (the `jobEvents` subscription), in the
    same transaction."""
    row = event_row(
        kind,
        job_id=outcome.subject_id if outcome.subject == "job" else None,
        owner_id=outcome.owner_id,
        payload={
            "incidentId": incident_id,
            "subject": outcome.subject,
            "subjectId": outcome.subject_id,
            "kind": outcome.kind,
        },
    )
    conn.execute(insert(EVENTS), [row])


def _next_reminder(rule: Any, after: datetime) -> datetime | None:
    every = rule.remind_every_hours
    return after + timedelta(hours=every) if every else None


def _continue_incident(conn: Connection, incident_id: int, outcome: SubjectOutcome) -> int:
    conn.execute(
        update(INCIDENTS)
        .where(INCIDENTS.c.id == incident_id)
        .values(failures=INCIDENTS.c.failures + 1, last_failure_at=outcome.at)
    )
    return 0


def remind_due(conn: Connection, now: datetime, *, limit: int = 100) -> int:
    """Remind about open incidents whose reminder is due (the rule's `remindEveryHours`,
    counted from the last notice); returns the notifications written. Each reminder is
    written once however many workers sweep: the incident row is locked (PostgreSQL) or
    the write lock held (SQLite), and the notice's key names the reminder's number."""
    query = (
        select(INCIDENTS)
        .where(INCIDENTS.c.status == "open", INCIDENTS.c.remind_at <= now)
        .order_by(INCIDENTS.c.remind_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    written = 0
    for incident in conn.execute(query).all():
        outcome = SubjectOutcome(
            incident.subject,
            incident.subject_id,
            incident.owner_id,
            incident.kind,
            "",
            incident.summary,
            now,
            incident.name,
        )
        rule = _rule_for(conn, outcome)
        values: dict[str, Any] = {"remind_at": None}
        if rule is not None and rule.remind_every_hours:
            number = incident.reminders + 1
            values = {
                "reminders": number,
                "last_notified_at": now,
                "remind_at": _next_reminder(rule, now),
            }
            title = (
                f"[dts] still failing: {_label(outcome)} "
                f"({incident.failures} problem(s) since {incident.opened_at:%Y-%m-%d %H:%M} UTC)"
            )
            written += _notify(
                conn,
                rule,
                outcome,
                incident.id,
                "reminder",
                title,
                incident.failures,
                f"reminder:{number}",
            )
        conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident.id).values(values))
    return written


def _resolve_incident(
    conn: Connection, rule: Any, incident_id: int, outcome: SubjectOutcome
) -> int:
    incident = conn.execute(
        update(INCIDENTS)
        .where(INCIDENTS.c.id == incident_id, INCIDENTS.c.status == "open")
        .values(status="resolved", resolved_at=outcome.at, remind_at=None)
        .returning(INCIDENTS.c.failures)
    ).first()
    if incident is None:
        return 0
    _feed(conn, "incident.resolved", outcome, incident_id)
    if not rule.on_recovery:
        return 0
    title = f"[dts] recovered: {_label(outcome)}"
    return _notify(conn, rule, outcome, incident_id, "recovered", title, incident.failures, None)


def _channels(conn: Connection, rule: Any, owner_id: int) -> list[int]:
    ids = [int(i) for i in (rule.channel_ids or [])]
    if not ids:
        return []
    rows = conn.execute(
        select(CHANNELS.c.id).where(
            CHANNELS.c.id.in_(ids),
            or_(CHANNELS.c.owner_id == owner_id, CHANNELS.c.shared.is_(True)),
        )
    )
    return sorted(rows.scalars())


def _notify(
    conn: Connection,
    rule: Any,
    outcome: SubjectOutcome,
    incident_id: int,
    kind: str,
    title: str,
    failures: int,
    suffix: str | None,
) -> int:
    rows = []
    for channel_id in _channels(conn, rule, outcome.owner_id):
        key = f"incident:{incident_id}:channel:{channel_id}:{suffix or kind}"
        payload = {
            "id": key,
            "event": f"incident.{kind}",
            "title": title,
            "summary": outcome.summary[:2000],
            "incident": {
                "id": incident_id,
                "subject": outcome.subject,
                "subjectId": outcome.subject_id,
                "name": outcome.name,
                "kind": outcome.kind,
                "failures": failures,
            },
            "at": outcome.at.isoformat(),
        }
        rows.append(
            {
                "channel_id": channel_id,
                "incident_id": incident_id,
                "owner_id": outcome.owner_id,
                "kind": kind,
                "idempotency_key": key,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": outcome.at,
                "created_at": outcome.at,
            }
        )
    return enqueue(conn, rows)


def enqueue(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows; a row whose idempotency key exists already is left out."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(NOTIFICATIONS).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(NOTIFICATIONS).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
    result = conn.execute(statement, rows)
    return max(0, result.rowcount or 0)


def run_outcome(
    *,
    job_id: int,
    owner_id: int,
    run_id: int,
    root_run_id: int | None,
    status: str,
    error: str | None,
    at: datetime,
    name: str = "",
) -> SubjectOutcome | None:
    """The alerting outcome of a run that reached a final status (None: no outcome)."""
    kind = RUN_STATUS_KINDS.get(status)
    if kind is None:
        return None
    summary = f"run {run_id}: {status}" + (f": {error}" if error else "")
    return SubjectOutcome(
        "job", job_id, owner_id, kind, f"run:{root_run_id or run_id}", summary, at, name
    )


# --- rules and incidents, for the API --------------------------------------------------


@dataclass
class RuleInput:
    channel_ids: list[int]
    on_failure: bool = True
    failure_threshold: int = 1
    on_timed_out: bool = True
    on_lost: bool = True
    on_missed: bool = False
    on_skipped: bool = False
    on_recovery: bool = True
    remind_every_hours: float | None = None


async def set_rule(
    session: AsyncSession, owner_id: int, subject: str, subject_id: int, rule: RuleInput
) -> AlertRule:
    """Create or replace the rule of one subject (`default`, 0: the owner's defaults)."""
    if not 1 <= rule.failure_threshold <= 1000:
        raise ValidationError(
            "failureThreshold must be between 1 and 1000.", field="failureThreshold"
        )
    if rule.remind_every_hours is not None and not 0.25 <= rule.remind_every_hours <= 24 * 30:
        raise ValidationError(
            "remindEveryHours must be between 0.25 and 720 (or null for no reminders).",
            field="remindEveryHours",
        )
    ids = sorted(set(rule.channel_ids))
    if ids:
        found = set(
            (
                await session.scalars(
                    select(AlertChannel.id).where(
                        AlertChannel.id.in_(ids),
                        or_(AlertChannel.owner_id == owner_id, AlertChannel.shared.is_(True)),
                    )
                )
            ).all()
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationError(
                f"No channel with id {missing[0]} (channelIds lists channels you own or "
                "shared ones).",
                field="channelIds",
            )
    existing = await session.scalar(
        select(AlertRule).where(
            AlertRule.owner_id == owner_id,
            AlertRule.subject == subject,
            AlertRule.subject_id == subject_id,
        )
    )
    target = existing or AlertRule(owner_id=owner_id, subject=subject, subject_id=subject_id)
    target.channel_ids = ids
    for name in (
        "on_failure",
        "failure_threshold",
        "on_timed_out",
        "on_lost",
        "on_missed",
        "on_skipped",
        "on_recovery",
        "remind_every_hours",
    ):
        setattr(target, name, getattr(rule, name))
    if existing is None:
        session.add(target)
    await session.flush()
    return target


async def get_rule(
    session: AsyncSession, owner_id: int, subject: str, subject_id: int
) -> AlertRule | None:
    return await session.scalar(
        select(AlertRule).where(
            AlertRule.owner_id == owner_id,
            AlertRule.subject == subject,
            AlertRule.subject_id == subject_id,
        )
    )


async def list_incidents(
    session: AsyncSession, owner_id: int | None, subject: str, subject_id: int, limit: int = 50
) -> list[Incident]:
    query = (
        select(Incident)
        .where(Incident.subject == subject, Incident.subject_id == subject_id)
        .order_by(Incident.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    if owner_id is not None:
        query = query.where(Incident.owner_id == owner_id)
    return list((await session.scalars(query)).all())


# --- the API's use cases: access checked here, one transaction each ----------------------


# The subjects that may have a rule of their own: the model and the API's field for the id.
RULE_SUBJECTS: dict[str, tuple[type[Job] | type[Monitor], str]] = {
    "job": (Job, "jobId"),
    "monitor": (Monitor, "monitorId"),
}


async def _subject_for(
    session: AsyncSession, principal: Principal, subject: str, subject_id: int, *, write: bool
) -> Job | Monitor:
    """The job or monitor, if the principal may read it (and change it, for `write`: its
    owner or an admin); "not found" otherwise, so ids do not leak."""
    model, field = RULE_SUBJECTS[subject]
    found: Job | Monitor | None = await session.get(model, subject_id)
    if found is None or not can_read(principal, found.owner_id):
        raise NotFound(f"{subject} not found", field=field)
    if write:
        ensure_may_write(principal)
        if found.owner_id != principal.user_id and not principal.is_admin:
            raise NotFound(f"{subject} not found", field=field)
    return found


async def set_subject_rules(
    db: Database, principal: Principal, subject: str, subject_id: int, rule: RuleInput
) -> AlertRule:
    """Give a job or monitor its own rule (in place of the owner's defaults)."""
    async with db.transaction() as session:
        found = await _subject_for(session, principal, subject, subject_id, write=True)
        return await set_rule(session, found.owner_id, subject, found.id, rule)


async def clear_subject_rules(
    db: Database, principal: Principal, subject: str, subject_id: int
) -> None:
    """Remove a job's or monitor's own rule: the owner's defaults apply again."""
    async with db.transaction() as session:
        found = await _subject_for(session, principal, subject, subject_id, write=True)
        rule = await get_rule(session, found.owner_id, subject, found.id)
        if rule is not None:
            await session.delete(rule)


async def subject_rules(
    db: Database, principal: Principal, subject: str, subject_id: int
) -> AlertRule | None:
    """The job's or monitor's own rule, or None (then the owner's defaults apply, if any)."""
    async with db.session() as session:
        found = await _subject_for(session, principal, subject, subject_id, write=False)
        return await get_rule(session, found.owner_id, subject, found.id)


async def set_job_rules(
    db: Database, principal: Principal, job_id: int, rule: RuleInput
) -> AlertRule:
    return await set_subject_rules(db, principal, "job", job_id, rule)


async def set_default_rules(db: Database, principal: Principal, rule: RuleInput) -> AlertRule:
    ensure_may_write(principal)
    async with db.transaction() as session:
        return await set_rule(session, principal.user_id, "default", 0, rule)


async def default_rules(db: Database, principal: Principal) -> AlertRule | None:
    async with db.session() as session:
        return await get_rule(session, principal.user_id, "default", 0)


async def job_incidents(
    db: Database, principal: Principal, job_id: int, limit: int = 50
) -> list[Incident]:
    """A job's incidents, newest first."""
    found, _ = await find_incidents(db, principal, IncidentFilter(job_id=job_id), first=limit)
    return found


INCIDENT_STATUSES = ("open", "resolved")
INCIDENT_SUBJECTS = ("job", "monitor")
MAX_INCIDENT_PAGE = 500


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents a list shows; every field narrows it (None: any)."""

    status: str | None = None  # open | resolved
    subject: str | None = None  # job | monitor
    job_id: int | None = None
    monitor_id: int | None = None


async def _subject_filter(
    session: AsyncSession, principal: Principal, wanted: IncidentFilter
) -> tuple[str, int] | None:
    """The one subject the filter names (its access checked), or None for all."""
    if wanted.job_id is not None and wanted.monitor_id is not None:
        raise ValidationError("give jobId or monitorId, not both", field="monitorId")
    if wanted.job_id is not None:
        if wanted.subject == "monitor":
            raise ValidationError(
                "jobId lists a job's incidents; subject must be job", field="subject"
            )
        job = await session.get(Job, wanted.job_id)
        if job is None or not can_read(principal, job.owner_id):
            raise NotFound("job not found", field="jobId")
        return "job", job.id
    if wanted.monitor_id is not None:
        if wanted.subject == "job":
            raise ValidationError(
                "monitorId lists a monitor's incidents; subject must be monitor", field="subject"
            )
        monitor = await session.get(Monitor, wanted.monitor_id)
        if monitor is None or not can_read(principal, monitor.owner_id):
            raise NotFound("monitor not found", field="monitorId")
        return "monitor", monitor.id
    return None


async def find_incidents(
    db: Database,
    principal: Principal,
    wanted: IncidentFilter,
    *,
    first: int = 50,
    after_id: int | None = None,
) -> tuple[list[Incident], bool]:
    """A page of the incidents the principal may read (their own subjects'; an admin's:
    everyone's), newest first, and whether more follow (`after_id`: the last id seen)."""
    if not 1 <= first <= MAX_INCIDENT_PAGE:
        raise ValidationError(f"must be from 1 to {MAX_INCIDENT_PAGE}, got {first}", field="first")
    if wanted.status is not None and wanted.status not in INCIDENT_STATUSES:
        raise ValidationError(
            f"unknown status {wanted.status[:40]!r}; expected open or resolved", field="status"
        )
    if wanted.subject is not None and wanted.subject not in INCIDENT_SUBJECTS:
        raise ValidationError(
            f"unknown subject {wanted.subject[:40]!r}; expected job or monitor", field="subject"
        )
    async with db.session() as session:
        query = select(Incident).where(owner_filter(principal, Incident.owner_id))
        one = await _subject_filter(session, principal, wanted)
        if one is not None:
            query = query.where(Incident.subject == one[0], Incident.subject_id == one[1])
        elif wanted.subject is not None:
            query = query.where(Incident.subject == wanted.subject)
        if wanted.status is not None:
            query = query.where(Incident.status == wanted.status)
        if after_id is not None:
            query = query.where(Incident.id < after_id)
        rows = list(await session.scalars(query.order_by(Incident.id.desc()).limit(first + 1)))
    return rows[:first], len(rows) > first
