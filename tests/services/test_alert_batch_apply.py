"""`apply_outcomes` applies a batch with a fixed number of statements (one read of the
rules, one insert and one locking read of the streaks, one write of each kind) and to the
same effect as applying its outcomes one by one. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from app.config import Settings
from app.db.engine import Database
from app.db.models import AlertStreak, Event, Incident, Notification
from app.services import alerts
from app.services.access import Principal
from app.services.channels import create_channel
from app.services.secrets import SecretBox
from tests.factories import add_user, http_job, services

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def _owner(
    db: Database, settings: Settings, email: str, **default: Any
) -> tuple[Principal, int]:
    """A user with a webhook channel and default rules notifying it."""
    owner = await add_user(db, email)
    async with db.transaction() as session:
        hook = await create_channel(
            session,
            SecretBox(settings),
            owner,
            name="hook",
            kind="webhook",
            config={"url": "https://hooks.example.com/x"},
        )
    await alerts.set_default_rules(
        db, owner, alerts.RuleInput(channel_ids=[hook.channel.id], **default)
    )
    return owner, hook.channel.id


async def _jobs(db: Database, settings: Settings, owner: Principal, count: int) -> list[int]:
    jobs, _ = services(db, settings, lambda: T0)
    return [(await jobs.create_job(owner, http_job(name=f"job-{i}"))).id for i in range(count)]


def _outcome(owner: Principal, job_id: int, kind: str, run: int) -> alerts.SubjectOutcome:
    at = T0 + timedelta(minutes=run)
    summary = f"run {run}: {kind}"
    return alerts.SubjectOutcome("job", job_id, owner.user_id, kind, f"run:{run}", summary, at, "j")


def _script(owner: Principal, a: int, b: int, c: int) -> list[alerts.SubjectOutcome]:
    """Several failures of one job and of others (job c has its own rule), a retry's
    second report, resets, recoveries and a new streak after a recovery."""
    steps = [
        (a, "failed", 1),
        (a, "failed", 1),  # the same occurrence again: counted once
        (b, "failed", 2),
        (c, "failed", 3),  # c's own rule: threshold 1, opens
        (a, "failed", 4),  # a's second: threshold 2, opens
        (c, "timed_out", 5),  # ignored by c's rule: neither counts nor resets
        (c, "failed", 6),  # continues c's incident
        (b, "succeeded", 7),  # ends b's streak, below the threshold
        (a, "lost", 8),  # continues a's incident
        (c, "succeeded", 9),  # resolves c's incident: recovered
        (c, "failed", 10),  # a new streak and incident
        (a, "succeeded", 11),  # resolves a's incident
        (b, "failed", 12),
    ]
    return [_outcome(owner, job, kind, run) for job, kind, run in steps]


async def _effects(db: Database, owner: Principal, roles: dict[int, str]) -> dict[str, Any]:
    """What the owner's outcomes left, with ids replaced by the jobs' roles and the
    incidents' opening times (the two owners' rows are compared)."""
    async with db.session() as session:
        incidents = list(
            await session.scalars(select(Incident).where(Incident.owner_id == owner.user_id))
        )
        opened = {i.id: (roles[i.subject_id], i.opened_at) for i in incidents}
        notices = await session.scalars(
            select(Notification).where(Notification.owner_id == owner.user_id)
        )
        events = await session.scalars(
            select(Event).where(Event.owner_id == owner.user_id, Event.kind.like("incident.%"))
        )
        streaks = await session.scalars(
            select(AlertStreak).where(AlertStreak.subject_id.in_(list(roles)))
        )
        return {
            "incidents": sorted(
                (
                    opened[i.id],
                    i.kind,
                    i.status,
                    i.failures,
                    i.summary,
                    i.last_failure_at,
                    i.resolved_at,
                    i.remind_at,
                )
                for i in incidents
            ),
            "notices": sorted(
                (
                    opened[n.incident_id or 0],
                    n.kind,
                    n.payload["title"],
                    n.payload["summary"],
                    n.payload["incident"]["failures"],
                    n.payload["incident"]["kind"],
                    n.payload["at"],
                )
                for n in notices
            ),
            "events": sorted(
                (e.kind, opened[e.payload["incidentId"]], e.payload["kind"]) for e in events
            ),
            "streaks": sorted(
                (
                    roles[s.subject_id],
                    s.failures,
                    opened.get(s.open_incident_id or 0),
                    s.last_occurrence,
                    s.updated_at,
                )
                for s in streaks
            ),
        }


@pytest.mark.parametrize("chunk", [1000, 2])  # 2: the streaks read and made in chunks
async def test_a_batch_has_the_effect_of_its_outcomes_one_by_one(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(alerts, "STREAK_CHUNK", chunk)
    together, _ = await _owner(db, settings, "batch@example.com", failure_threshold=2)
    apart, _ = await _owner(db, settings, "single@example.com", failure_threshold=2)
    roles: dict[int, dict[int, str]] = {}
    for owner in (together, apart):
        a, b, c = await _jobs(db, settings, owner, 3)
        await alerts.set_job_rules(
            db, owner, c, alerts.RuleInput(channel_ids=[], on_timed_out=False)
        )
        roles[owner.user_id] = {a: "a", b: "b", c: "c"}
    script = _script(together, *roles[together.user_id])
    assert await db.run_write(lambda conn: alerts.apply_outcomes(conn, script)) == 2
    written = 0
    for one in _script(apart, *roles[apart.user_id]):
        written += await db.run_write(partial(alerts.apply_outcomes, outcomes=[one]))
    assert written == 2  # a opened and recovered; c's own rule has no channels
    batched = await _effects(db, together, roles[together.user_id])
    single = await _effects(db, apart, roles[apart.user_id])
    assert batched == single
    assert [(i[0][0], i[2], i[3]) for i in batched["incidents"]] == [
        ("a", "resolved", 3),
        ("c", "resolved", 2),
        ("c", "open", 1),
    ]
    assert [s[:2] for s in batched["streaks"]] == [("a", 0), ("b", 1), ("c", 1)]


async def _statements(db: Database, outcomes: list[alerts.SubjectOutcome]) -> int:
    """The statements one batch costs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def work(conn: Connection) -> int:
        event.listen(conn, "before_cursor_execute", record)
        try:
            return alerts.apply_outcomes(conn, outcomes)
        finally:
            event.remove(conn, "before_cursor_execute", record)

    await db.run_write(work)
    return len(statements)


async def test_a_batch_of_failures_costs_the_same_statements_for_5_runs_as_for_50(
    db: Database, settings: Settings
) -> None:
    owner, _ = await _owner(db, settings, "ops@example.com", remind_every_hours=1)
    jobs = await _jobs(db, settings, owner, 10)
    quiet = jobs[5:]  # their own rule: a streak far below its threshold
    for job in quiet:
        await alerts.set_job_rules(
            db, owner, job, alerts.RuleInput(channel_ids=[], failure_threshold=1000)
        )
    run = iter(range(1, 10_000))
    # The first failures open incidents for jobs[:5] (a few statements per incident).
    await db.run_write(
        lambda conn: alerts.apply_outcomes(
            conn, [_outcome(owner, job, "failed", next(run)) for job in jobs]
        )
    )

    def failures(count: int) -> list[alerts.SubjectOutcome]:
        return [_outcome(owner, jobs[i % len(jobs)], "failed", next(run)) for i in range(count)]

    few = await _statements(db, failures(5))
    many = await _statements(db, failures(50))
    # rules' owners, rules, streak insert, streak lock, incidents' counts, streaks' write
    assert few == many == 6
    async with db.session() as session:
        counts = {
            i.subject_id: i.failures
            for i in await session.scalars(select(Incident).where(Incident.status == "open"))
        }
        streaks = {s.subject_id: s.failures for s in await session.scalars(select(AlertStreak))}
    # Each of the first five jobs: 1 + 1 (of the 5) + 5 (of the 50) problems.
    assert counts == {job: 7 for job in jobs[:5]}
    assert streaks == {**{job: 7 for job in jobs[:5]}, **{job: 6 for job in quiet}}
