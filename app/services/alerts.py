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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import Table, bindparam, insert, or_, select, tuple_, update
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
T = TypeVar("T")
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
    """Apply final outcomes (in order); returns the number of notifications written.

    The batch costs a fixed number of statements however many outcomes it holds (one read
    of the rules, one insert and one locking read of the streaks, one write of the changed
    streaks and one of the continued incidents), plus a few per incident opened or
    resolved (bench/alerts.py)."""
    if not outcomes:
        return 0
    wanted = owners_with_rules(conn, {o.owner_id for o in outcomes})
    relevant = [o for o in outcomes if o.owner_id in wanted]
    failing = _failing(conn, relevant)
    # Streak rows are locked in one order (stable: a subject's outcomes keep theirs), so
    # two batches touching the same jobs cannot deadlock.
    ordered = [
        o
        for o in sorted(relevant, key=_subject_key)
        # a success with nothing failing has nothing to end
        if o.kind not in OK_KINDS or _subject_key(o) in failing
    ]
    if not ordered:
        return 0
    rules = _rules_for(conn, ordered)
    todo = [(o, rule) for o in ordered if (rule := _obeyed_rule(o, rules)) is not None]
    if not todo:
        return 0
    batch = _Batch(conn, _lock_streaks(conn, todo))
    written = 0
    for outcome, rule in todo:
        written += batch.apply(outcome, rule)
    batch.write()
    return written


def _subject_key(outcome: SubjectOutcome) -> tuple[str, int]:
    return outcome.subject, outcome.subject_id


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


RuleKey = tuple[int, str, int]  # owner_id, subject (or "default"), subject_id (or 0)


def _rules_for(conn: Connection, outcomes: list[SubjectOutcome]) -> dict[RuleKey, Any]:
    """Every rule the outcomes may follow, in one read: their owners' defaults and their
    subjects' own rules (pick one with `_pick_rule`)."""
    by_subject: dict[str, set[int]] = {}
    for o in outcomes:
        by_subject.setdefault(o.subject, set()).add(o.subject_id)
    which = [(RULES.c.subject == "default") & (RULES.c.subject_id == 0)]
    which += [
        (RULES.c.subject == subject) & RULES.c.subject_id.in_(sorted(ids))
        for subject, ids in sorted(by_subject.items())
    ]
    rows = conn.execute(
        select(RULES).where(
            RULES.c.owner_id.in_(sorted({o.owner_id for o in outcomes})), or_(*which)
        )
    )
    return {(r.owner_id, r.subject, r.subject_id): r for r in rows}


def _pick_rule(outcome: SubjectOutcome, rules: dict[RuleKey, Any]) -> Any:
    """The subject's own rule, else its owner's defaults, else None."""
    own = rules.get((outcome.owner_id, outcome.subject, outcome.subject_id))
    return own if own is not None else rules.get((outcome.owner_id, "default", 0))


def _obeyed_rule(outcome: SubjectOutcome, rules: dict[RuleKey, Any]) -> Any:
    """The rule the outcome counts under, or None: no rule, or a problem the rule ignores
    (which neither counts nor resets the streak)."""
    rule = _pick_rule(outcome, rules)
    if rule is None:
        return None
    if outcome.kind in PROBLEM_KINDS:
        return rule if getattr(rule, RULE_SWITCH[outcome.kind]) else None
    if outcome.kind not in OK_KINDS:
        raise ValueError(f"unknown alert outcome kind {outcome.kind!r}")
    return rule


def _rule_for(conn: Connection, outcome: SubjectOutcome) -> Any:
    """The one outcome's rule (the reminder sweep's; batches use `_rules_for`)."""
    return _pick_rule(outcome, _rules_for(conn, [outcome]))


@dataclass
class _Streak:
    """A subject's streak row as the batch sees it (locked), written back once if changed."""

    failures: int
    open_incident_id: int | None
    last_occurrence: str | None
    updated_at: datetime
    changed: bool = False

    def count(self, failures: int, incident_id: int | None, outcome: SubjectOutcome) -> None:
        self.failures = failures
        self.open_incident_id = incident_id
        self.last_occurrence = outcome.occurrence_key
        self.updated_at = outcome.at
        self.changed = True


def _lock_streaks(
    conn: Connection, todo: list[tuple[SubjectOutcome, Any]]
) -> dict[tuple[str, int], _Streak]:
    """The batch's streak rows, locked (PostgreSQL; SQLite's transaction holds the write
    lock already) in (subject, subject_id) order; the problems' subjects' rows are made
    first if missing. A success's subject without a row is left out: nothing to end."""
    missing: dict[tuple[str, int], dict[str, Any]] = {}
    for outcome, _ in todo:
        if outcome.kind in PROBLEM_KINDS and _subject_key(outcome) not in missing:
            missing[_subject_key(outcome)] = {
                "subject": outcome.subject,
                "subject_id": outcome.subject_id,
                "failures": 0,
                "updated_at": outcome.at,
            }
    rows = [missing[k] for k in sorted(missing)]
    for chunk in _chunks(rows):
        conn.execute(_insert_ignoring(conn, STREAKS).values(chunk).on_conflict_do_nothing())
    streaks: dict[tuple[str, int], _Streak] = {}
    for keys in _chunks(sorted({_subject_key(o) for o, _ in todo})):
        locked = (
            select(STREAKS)
            .where(tuple_(STREAKS.c.subject, STREAKS.c.subject_id).in_(keys))
            .order_by(STREAKS.c.subject, STREAKS.c.subject_id)
        )
        if conn.dialect.name == "postgresql":
            locked = locked.with_for_update()
        for row in conn.execute(locked):
            streaks[(row.subject, int(row.subject_id))] = _Streak(
                row.failures, row.open_incident_id, row.last_occurrence, row.updated_at
            )
    return streaks


# Subjects per statement: a batch of missed runs after a long stop can be large, and the
# drivers take at most 32,767 parameters (4 a row here). Chunks keep the lock order.
STREAK_CHUNK = 1000


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), STREAK_CHUNK):
        yield items[start : start + STREAK_CHUNK]


def _insert_ignoring(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing`."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


@dataclass
class _Batch:
    """Applies a batch's outcomes to its locked streaks, in memory; `write` stores the
    changed streaks and the continued incidents' counts in one statement each."""

    conn: Connection
    streaks: dict[tuple[str, int], _Streak]
    # incident id -> (problems counted in this batch, the last one's time)
    continued: dict[int, tuple[int, datetime]] = field(default_factory=dict)

    def apply(self, outcome: SubjectOutcome, rule: Any) -> int:
        """Apply one outcome under its rule; returns the notifications written."""
        streak = self.streaks.get(_subject_key(outcome))
        if streak is None:
            return 0  # a success, and nothing was failing
        if streak.last_occurrence == outcome.occurrence_key:
            return 0  # this occurrence was already counted
        if outcome.kind in PROBLEM_KINDS:
            return self._problem(outcome, rule, streak)
        return self._success(outcome, rule, streak)

    def _problem(self, outcome: SubjectOutcome, rule: Any, streak: _Streak) -> int:
        failures = streak.failures + 1
        incident_id = streak.open_incident_id
        written = 0
        if incident_id is not None:
            count, _ = self.continued.get(incident_id, (0, outcome.at))
            self.continued[incident_id] = (count + 1, outcome.at)
        elif outcome.subject == "monitor" or failures >= max(1, rule.failure_threshold):
            # A monitor stays down until a ping comes, so its problems never add up to a
            # streak: the threshold is for jobs (docs/monitors.md, "Notifications").
            incident_id, written = _open_incident(self.conn, rule, outcome, failures)
        streak.count(failures, incident_id, outcome)
        return written

    def _success(self, outcome: SubjectOutcome, rule: Any, streak: _Streak) -> int:
        written = 0
        if streak.open_incident_id is not None:
            self._write_continued([streak.open_incident_id])  # the notice tells the count
            written += _resolve_incident(self.conn, rule, streak.open_incident_id, outcome)
        if streak.failures or streak.open_incident_id is not None:
            streak.count(0, None, outcome)
        return written

    def _write_continued(self, incident_ids: list[int]) -> None:
        """Add the problems counted so far to these incidents (one statement)."""
        rows: list[dict[str, Any]] = []
        for incident_id in sorted(i for i in incident_ids if i in self.continued):
            count, at = self.continued.pop(incident_id)
            rows.append({"b_id": incident_id, "b_count": count, "b_at": at})
        if rows:
            self.conn.execute(
                update(INCIDENTS)
                .where(INCIDENTS.c.id == bindparam("b_id"))
                .values(
                    failures=INCIDENTS.c.failures + bindparam("b_count"),
                    last_failure_at=bindparam("b_at"),
                ),
                rows,
            )

    def write(self) -> None:
        """Store the changed streaks and the continued incidents."""
        self._write_continued(list(self.continued))
        rows = [
            {
                "b_subject": key[0],
                "b_subject_id": key[1],
                "failures": s.failures,
                "open_incident_id": s.open_incident_id,
                "last_occurrence": s.last_occurrence,
                "updated_at": s.updated_at,
            }
            for key, s in sorted(self.streaks.items())
            if s.changed
        ]
        if rows:
            self.conn.execute(
                update(STREAKS).where(
                    STREAKS.c.subject == bindparam("b_subject"),
                    STREAKS.c.subject_id == bindparam("b_subject_id"),
                ),
                rows,
            )


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
    statement = _insert_ignoring(conn, NOTIFICATIONS).on_conflict_do_nothing(
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
