"""A monitor notifies: a missed ping opens one incident (late, then down, of the same
expected ping is one notice), the next good ping sends one recovery notice. A real signed
webhook receiver on loopback, the real tick and the real outbox; both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import Incident, Monitor, Notification
from app.services import alerts, outbox
from app.services.access import Principal
from app.services.channels import ChannelSender, create_channel
from app.services.monitors import MonitorService, record_ping
from app.services.secrets import SecretBox
from tests.alerting import Receiver
from tests.factories import add_user
from worker.tick import tick

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Setup:
    """An owner whose default rule sends to one webhook channel (a live receiver)."""

    def __init__(self, db: Database, settings: Settings, receiver: Receiver) -> None:
        self.db = db
        self.settings = settings.model_copy(update={"http_allow_private": True})
        self.receiver = receiver
        self.sender = ChannelSender(self.settings, SecretBox(self.settings))
        self.owner: Principal
        self.secret = ""

    async def owner_with_hook(self, **rule: Any) -> None:
        self.owner = await add_user(self.db, "ops@example.com")
        async with self.db.transaction() as session:
            hook = await create_channel(
                session,
                SecretBox(self.settings),
                self.owner,
                name="hook",
                kind="webhook",
                config={"url": self.receiver.url()},
                allow_private=True,
            )
        assert hook.signing_secret
        self.secret = hook.signing_secret
        await alerts.set_default_rules(
            self.db, self.owner, alerts.RuleInput(channel_ids=[hook.channel.id], **rule)
        )

    async def monitor(self, **fields: Any) -> Monitor:
        service = MonitorService(self.db, clock=lambda: T0)
        spec = {"name": "nightly backup", "periodSeconds": 3600, "graceSeconds": 300, **fields}
        monitor = await service.create_monitor(self.owner, spec)
        assert await record_ping(self.db, monitor.ping_key, "success", now=T0)
        return monitor

    async def deliver(self, at: datetime) -> None:
        while await outbox.deliver_due(self.db, self.sender, "w1", at):
            pass


async def _notifications(db: Database) -> list[Notification]:
    async with db.session() as session:
        return list((await session.scalars(select(Notification).order_by(Notification.id))).all())


async def _incidents(db: Database, monitor_id: int) -> list[Incident]:
    async with db.session() as session:
        return await alerts.list_incidents(session, None, "monitor", monitor_id)


async def test_a_missed_ping_notifies_once_and_a_good_ping_recovers_once(
    db: Database, settings: Settings
) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        setup = Setup(db, settings, receiver)
        await setup.owner_with_hook()
        monitor = await setup.monitor()
        assert (await tick(db, T0 + HOUR)).monitors == 1  # up -> late
        await setup.deliver(T0 + HOUR)
        assert (await tick(db, T0 + HOUR + timedelta(minutes=5))).monitors == 1  # -> down
        await setup.deliver(T0 + HOUR + timedelta(minutes=5))
        assert (await tick(db, T0 + 5 * HOUR)).monitors == 0  # down stays quiet
        await setup.deliver(T0 + 5 * HOUR)
        assert receiver.events() == ["incident.opened"]
        [incident] = await _incidents(db, monitor.id)
        # One expected ping missed: late and down are the same occurrence, counted once.
        assert incident.status == "open" and incident.kind == "late"
        assert incident.failures == 1

        back = T0 + 6 * HOUR
        assert await record_ping(db, monitor.ping_key, "success", now=back)
        await setup.deliver(back)
        assert await record_ping(db, monitor.ping_key, "success", now=back + HOUR)
        await setup.deliver(back + HOUR)
    finally:
        await receiver.stop()
    assert receiver.events() == ["incident.opened", "incident.recovered"]
    assert all(d.signed_with(setup.secret) for d in receiver.deliveries)
    opened, recovered = (d.json for d in receiver.deliveries)
    assert opened["title"] == "[dts] monitor 'nightly backup' is late"
    assert opened["incident"]["subject"] == "monitor"
    assert opened["incident"]["subjectId"] == monitor.id
    assert recovered["title"] == "[dts] recovered: monitor 'nightly backup'"
    assert [(n.kind, n.status) for n in await _notifications(db)] == [
        ("opened", "sent"),
        ("recovered", "sent"),
    ]
    [incident] = await _incidents(db, monitor.id)
    assert incident.status == "resolved" and incident.resolved_at == back


async def test_fail_ping_ran_too_long_and_a_start_before_recovery(
    db: Database, settings: Settings
) -> None:
    receiver = Receiver()
    setup = Setup(db, settings, receiver)
    # A threshold meant for jobs does not silence monitors (a down monitor reports once).
    await setup.owner_with_hook(failure_threshold=3)
    failing = await setup.monitor(name="fails")
    slow = await setup.monitor(name="slow", maxDurationSeconds=600, graceSeconds=60)
    at = T0 + timedelta(minutes=30)
    assert await record_ping(db, failing.ping_key, "fail", now=at)
    assert await record_ping(db, failing.ping_key, "fail", now=at + timedelta(minutes=1))
    assert await record_ping(db, slow.ping_key, "start", now=at)
    assert (await tick(db, at + timedelta(seconds=600))).monitors == 1  # ran too long
    assert (await tick(db, at + timedelta(seconds=660))).monitors == 1  # down
    # The slow job finally reports: a /start then success recover it, as does a good ping.
    done = at + timedelta(minutes=20)
    assert await record_ping(db, slow.ping_key, "start", now=done)
    assert await record_ping(db, slow.ping_key, "success", now=done + timedelta(seconds=5))
    assert await record_ping(db, failing.ping_key, "success", exit_status=0, now=done)
    titles = [n.payload["title"] for n in await _notifications(db)]
    assert titles == [
        "[dts] monitor 'fails' is down",
        "[dts] monitor 'slow' ran too long",
        "[dts] recovered: monitor 'slow'",
        "[dts] recovered: monitor 'fails'",
    ]
    for monitor in (failing, slow):
        [incident] = await _incidents(db, monitor.id)
        assert incident.status == "resolved" and incident.failures == 1


async def test_without_rules_nobody_is_told_and_a_monitor_rule_wins_over_defaults(
    db: Database, settings: Settings
) -> None:
    quiet = await add_user(db, "quiet@example.com")
    service = MonitorService(db, clock=lambda: T0)
    unwatched = await service.create_monitor(quiet, {"name": "m", "periodSeconds": 3600})
    assert await record_ping(db, unwatched.ping_key, "success", now=T0)
    setup = Setup(db, settings, Receiver())
    await setup.owner_with_hook()
    muted = await setup.monitor(name="muted")
    async with db.transaction() as session:  # its own rule: problems do not notify
        await alerts.set_rule(
            session,
            setup.owner.user_id,
            "monitor",
            muted.id,
            alerts.RuleInput(channel_ids=[], on_failure=False),
        )
    assert (await tick(db, T0 + 2 * HOUR)).monitors == 2
    assert (await tick(db, T0 + 2 * HOUR)).monitors == 2  # both down now
    assert await _notifications(db) == []
    assert await _incidents(db, unwatched.id) == [] and await _incidents(db, muted.id) == []
