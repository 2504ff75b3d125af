"""Deleting a job or monitor deletes its alerting rows (rule, streak, incidents) in the
same transaction: nothing keyed by its id is left behind, nothing of anyone else's goes,
and a refused delete removes nothing. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import AlertRule, AlertStreak, Incident, Notification
from app.domain.errors import NotFound
from app.services import alerts, outbox
from app.services.access import Principal
from app.services.monitors import MonitorService, record_ping
from tests.conftest import FakeClock
from tests.factories import add_user, http_job, services
from worker.tick import tick

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def _rows(db: Database) -> dict[str, list[tuple[str, int]]]:
    async with db.session() as session:
        found = {}
        for model in (AlertRule, AlertStreak, Incident):
            rows = await session.execute(
                select(model.subject, model.subject_id).order_by(model.subject, model.subject_id)
            )
            found[model.__tablename__] = [(str(r[0]), int(r[1])) for r in rows]
        return found


async def _fail(db: Database, owner: Principal, subject: alerts.Subject, subject_id: int) -> None:
    async with db.transaction() as session:
        await alerts.report(
            session,
            subject=subject,
            subject_id=subject_id,
            owner_id=owner.user_id,
            kind="failed" if subject == "job" else "down",
            occurrence_key=f"{subject}:{subject_id}:1",
            summary="broken",
            at=T0,
        )


async def test_deleting_a_job_deletes_its_rule_streak_and_incidents(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    clock.set(T0)
    owner = await add_user(db, "ops@example.com")
    other = await add_user(db, "other@example.com")
    jobs, _ = services(db, settings, clock.now)
    doomed = await jobs.create_job(owner, http_job(name="doomed", cron="0 0 1 1 *"))
    kept = await jobs.create_job(owner, http_job(name="kept", cron="0 0 1 1 *"))
    reminded = alerts.RuleInput(channel_ids=[], remind_every_hours=1)
    await alerts.set_default_rules(db, owner, reminded)
    for job in (doomed, kept):
        await alerts.set_job_rules(db, owner, job.id, reminded)
        await _fail(db, owner, "job", job.id)
    before = await _rows(db)
    assert before["incidents"] == [("job", doomed.id), ("job", kept.id)]

    with pytest.raises(NotFound):  # not theirs: refused, and nothing is removed
        await jobs.delete_job(other, doomed.id)
    assert await _rows(db) == before

    await jobs.delete_job(owner, doomed.id)
    assert await _rows(db) == {
        "alert_rules": [("default", 0), ("job", kept.id)],
        "alert_streaks": [("job", kept.id)],
        "incidents": [("job", kept.id)],
    }
    # The deleted job's incident is not reminded of; the other job's still is.
    assert await outbox.remind_due(db, T0 + timedelta(hours=2)) == 0  # no channels: no rows
    async with db.session() as session:
        [incident] = await session.scalars(select(Incident))
    assert incident.subject_id == kept.id and incident.reminders == 1


async def test_deleting_a_monitor_deletes_its_rule_streak_and_incidents(
    db: Database, settings: Settings
) -> None:
    owner = await add_user(db, "ops@example.com")
    other = await add_user(db, "other@example.com")
    await alerts.set_default_rules(db, owner, alerts.RuleInput(channel_ids=[]))
    service = MonitorService(db, clock=lambda: T0)
    doomed = await service.create_monitor(owner, {"name": "doomed", "periodSeconds": 3600})
    kept = await service.create_monitor(owner, {"name": "kept", "periodSeconds": 3600})
    for monitor in (doomed, kept):
        assert await record_ping(db, monitor.ping_key, "success", now=T0)
    async with db.transaction() as session:
        await alerts.set_rule(
            session, owner.user_id, "monitor", doomed.id, alerts.RuleInput(channel_ids=[])
        )
    assert (await tick(db, T0 + timedelta(hours=2))).monitors == 2  # both late: incidents
    before = await _rows(db)
    assert before["incidents"] == [("monitor", doomed.id), ("monitor", kept.id)]

    with pytest.raises(NotFound):
        await service.delete_monitor(other, doomed.id)
    assert await _rows(db) == before

    await service.delete_monitor(owner, doomed.id)
    assert await _rows(db) == {
        "alert_rules": [("default", 0)],
        "alert_streaks": [("monitor", kept.id)],
        "incidents": [("monitor", kept.id)],
    }
    async with db.session() as session:
        assert list(await session.scalars(select(Notification))) == []
