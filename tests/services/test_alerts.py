"""Alerting end to end: a real worker runs a failing HTTP job; each channel (a signed
webhook on loopback, e-mail through aiosmtpd) gets exactly one notice per incident and
exactly one recovery notice. Both engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import Notification
from app.services import alerts
from app.services.channels import create_channel
from app.services.secrets import SecretBox
from tests.alerting import Receiver
from tests.executors.support import SeenRequest, TargetServer
from tests.factories import add_user, http_job, services
from tests.services.conftest import Inbox
from tests.worker.conftest import job_runs, running_worker, wait_for

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
            session, box, owner, name="hook", kind="webhook", config={"url": receiver.url()}
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
    assert incident.status == "resolved" and incident.failures == 3 and incident.kind == "failed"
