"""Alerting end to end: a real worker runs a failing HTTP job; each channel (a signed
webhook on loopback, e-mail through aiosmtpd) gets exactly one notice per incident and
exactly one recovery notice. Both engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import Event, Notification
from app.services import alerts
from app.services.access import Principal
from app.services.channels import create_channel
from app.services.secrets import SecretBox
from tests.alerting import Receiver
from tests.conftest import FakeClock
from tests.executors.support import SeenRequest, TargetServer
from tests.factories import add_user, http_job, services
from tests.services.conftest import Inbox
from tests.worker.conftest import job_runs, running_worker, wait_for
from worker.claims import Outcome, claim_runs, complete_run, recover_expired
from worker.tick import tick

FINAL = {"succeeded", "failed", "timed_out", "cancelled", "lost"}


class SwitchTarget(TargetServer):
    """Answers 500 until `healthy` is set."""

    healthy = False

    async def route(self, seen: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        return (200, {}, b"ok") if self.healthy else (500, {}, b"down")


async def _all_final(db: Database, job_id: int, count: int) -> list[str]:
    async def check() -> list[str] | None:
        runs = await job_runs(db, job_id)
        occurrences = {r.root_run_id or r.id for r in runs}
        active = [r for r in runs if r.status in ("queued", "running")]
        done = [r.status for r in runs if r.status in FINAL]
        return done if len(occurrences) >= count and not active else None

    return await wait_for(check, timeout=30)


async def _sent(db: Database) -> list[Notification]:
    async with db.session() as session:
        query = select(Notification).order_by(Notification.id)
        return list((await session.scalars(query)).all())


async def test_a_failing_job_notifies_each_channel_once_per_incident_and_once_on_recovery(
    db: Database, mail_settings: Settings, inbox: Inbox
) -> None:
    settings = mail_settings.model_copy(
        update={"http_allow_private": True, "poll_interval": 0.05, "lease_seconds": 3.0}
    )
    target = SwitchTarget()
    listener = await asyncio.start_server(target.handle, "127.0.0.1", 0)
    target.port = listener.sockets[0].getsockname()[1]
    receiver = Receiver()
    await receiver.start()
    owner = await add_user(db, "ops@example.com")
    jobs, runs = services(db, settings, lambda: datetime.now(UTC))
    job = await jobs.create_job(
        owner,
        http_job(
            name="nightly export",
            cron="0 0 1 1 *",
            http={"method": "GET", "url": target.url("/export")},
            retry={"maxAttempts": 2, "initialDelay": 0.05, "maxDelay": 0.1},
        ),
    )
    box = SecretBox(settings)
    async with db.transaction() as session:
        hook = await create_channel(
            session,
            box,
            owner,
            name="hook",
            kind="webhook",
            config={"url": receiver.url()},
            allow_private=True,
        )
        mail = await create_channel(
            session, box, owner, name="me", kind="email", config={"address": "ops@example.com"}
        )
    await alerts.set_job_rules(
        db, owner, job.id, alerts.RuleInput(channel_ids=[hook.channel.id, mail.channel.id])
    )
    assert hook.signing_secret
    try:
        async with running_worker(settings):
            for count in (1, 2, 3):  # three failing occurrences, two attempts each
                await runs.trigger_job(owner, job.id)
                await _all_final(db, job.id, count)
            target.healthy = True
            for count in (4, 5):
                await runs.trigger_job(owner, job.id)
                await _all_final(db, job.id, count)

            async def delivered() -> bool:
                rows = await _sent(db)
                return len(rows) == 4 and all(n.status == "sent" for n in rows)

            await wait_for(delivered, timeout=20)
            await asyncio.sleep(0.3)  # nothing more arrives
    finally:
        await receiver.stop()
        listener.close()
        for handler in target.handlers:
            handler.cancel()

    statuses = [r.status for r in await job_runs(db, job.id)]
    assert statuses == ["failed"] * 6 + ["succeeded"] * 2
    assert receiver.events() == ["incident.opened", "incident.recovered"]
    assert all(d.signed_with(hook.signing_secret) for d in receiver.deliveries)
    opened = receiver.deliveries[0].json
    assert opened["incident"]["name"] == "nightly export"
    assert opened["title"] == "[dts] job 'nightly export' failed"
    subjects = sorted(str(m["Subject"]) for m in inbox.messages)
    assert subjects == [
        "[dts] job 'nightly export' failed",
        "[dts] recovered: job 'nightly export'",
    ]
    async with db.session() as session:
        [incident] = await alerts.list_incidents(session, owner.user_id, "job", job.id)
        feed = await session.scalars(
            select(Event.kind).where(Event.kind.like("incident.%")).order_by(Event.id)
        )
        assert list(feed) == ["incident.opened", "incident.resolved"]  # for jobEvents
    assert incident.status == "resolved" and incident.failures == 3 and incident.kind == "failed"


# --- every place a run reaches a final status reports it --------------------------------

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def _owner_with_rules(db: Database, settings: Settings, **rule: Any) -> tuple[Principal, int]:
    owner = await add_user(db, "ops@example.com")
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
        db, owner, alerts.RuleInput(channel_ids=[hook.channel.id], **rule)
    )
    return owner, hook.channel.id


async def _incidents(db: Database, owner: Principal, job_id: int) -> list[Any]:
    return await alerts.job_incidents(db, owner, job_id)


async def test_a_failure_then_a_successful_retry_is_no_incident(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    clock.set(T0)
    owner, _ = await _owner_with_rules(db, settings)
    jobs, runs = services(db, settings, clock.now)
    job = await jobs.create_job(
        owner, http_job(cron="0 0 1 1 *", retry={"maxAttempts": 2, "initialDelay": 1})
    )
    await runs.trigger_job(owner, job.id)
    [first] = await claim_runs(db, "w1", 1, clock.now(), 30)
    failed = Outcome("failed", http_status=503, error="HTTP 503", retryable=True)
    assert await complete_run(db, "w1", first, failed, clock.now())
    [retry] = await claim_runs(db, "w1", 1, clock.advance(5), 30)
    assert retry.attempt == 2
    assert await complete_run(db, "w1", retry, Outcome("succeeded", 200), clock.now())
    assert await _incidents(db, owner, job.id) == []
    assert await _sent(db) == []


async def test_a_failed_last_attempt_opens_one_incident_on_either_record_path(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    clock.set(T0)
    owner, channel = await _owner_with_rules(db, settings)
    jobs, runs = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="0 0 1 1 *", retry={"maxAttempts": 1}))
    for _ in range(2):
        await runs.trigger_job(owner, job.id)
        [run] = await claim_runs(db, "w1", 1, clock.advance(1), 30)
        failed = Outcome("failed", http_status=500, error="HTTP 500", retryable=True)
        assert await complete_run(db, "w1", run, failed, clock.now())
    [incident] = await _incidents(db, owner, job.id)
    assert incident.status == "open" and incident.failures == 2
    assert [(n.kind, n.channel_id) for n in await _sent(db)] == [("opened", channel)]


async def test_a_lost_run_with_no_retries_left_opens_an_incident(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    clock.set(T0)
    owner, _ = await _owner_with_rules(db, settings)
    jobs, runs = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="0 0 1 1 *", retry={"maxAttempts": 1}))
    await runs.trigger_job(owner, job.id)
    [run] = await claim_runs(db, "w-dies", 1, clock.now(), 3)
    assert await recover_expired(db, clock.advance(10)) == 1
    [incident] = await _incidents(db, owner, job.id)
    assert incident.kind == "lost" and "stopped renewing" in incident.summary
    [notice] = await _sent(db)
    assert notice.payload["title"] == "[dts] job 'ping' was lost (its worker died)"
    assert run.id


async def test_missed_occurrences_notify_only_when_the_rule_asks(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    clock.set(T0)
    owner, _ = await _owner_with_rules(db, settings, on_missed=True)
    jobs, _ = services(db, settings, clock.now)
    watched = await jobs.create_job(owner, http_job(name="watched", cron="*/15 * * * *"))
    # The scheduler was down for 3 hours: coalesce records 11 missed runs and queues one.
    await tick(db, T0 + timedelta(hours=3, minutes=5))
    [incident] = await _incidents(db, owner, watched.id)
    assert incident.kind == "missed" and incident.failures == 11
    assert [n.kind for n in await _sent(db)] == ["opened"]

    other = await jobs.create_job(owner, http_job(name="quiet", cron="*/15 * * * *"))
    await alerts.set_job_rules(
        db, owner, other.id, alerts.RuleInput(channel_ids=[], on_missed=False)
    )
    await tick(db, T0 + timedelta(hours=6, minutes=5))
    assert await _incidents(db, owner, other.id) == []


async def test_simultaneous_failures_of_one_job_open_a_single_incident(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    owner, _ = await _owner_with_rules(db, settings)

    async def fail(n: int) -> None:
        async with db.transaction() as session:
            await alerts.report(
                session,
                subject="job",
                subject_id=99,
                owner_id=owner.user_id,
                kind="failed",
                occurrence_key=f"run:{n}",
                summary=f"run {n}: failed",
                at=clock.now(),
            )

    await asyncio.gather(*(fail(n) for n in range(6)))
    async with db.session() as session:
        [incident] = await alerts.list_incidents(session, owner.user_id, "job", 99)
    assert incident.failures == 6
    assert [n.kind for n in await _sent(db)] == ["opened"]


async def test_a_scheduled_occurrence_skipped_by_forbid_notifies_when_asked(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    clock.set(T0)
    owner, _ = await _owner_with_rules(db, settings, on_skipped=True)
    jobs, runs = services(db, settings, clock.now)
    job = await jobs.create_job(owner, http_job(cron="*/5 * * * *", concurrency="forbid"))
    await runs.trigger_job(owner, job.id)
    await claim_runs(db, "w1", 1, clock.now(), 600)  # still running at 12:05
    await tick(db, T0 + timedelta(minutes=5, seconds=1))
    statuses = [r.status for r in await job_runs(db, job.id)]
    assert statuses == ["running", "skipped"]
    [incident] = await _incidents(db, owner, job.id)
    assert incident.kind == "skipped" and "concurrency: forbid" in incident.summary
    assert [n.kind for n in await _sent(db)] == ["opened"]
