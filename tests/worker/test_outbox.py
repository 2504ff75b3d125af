"""The notification outbox: durable, retried with backoff, reclaimed after a worker died,
delivered once per channel — against a real webhook receiver on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import AlertChannel, Notification
from app.domain.errors import NotFound, RateLimited, ValidationError
from app.services import alerts, outbox
from app.services.access import Principal
from app.services.channels import (
    TEST_LIMIT,
    ChannelSender,
    CreatedChannel,
    create_channel,
    public_config,
    send_test,
)
from app.services.secrets import SecretBox
from tests.alerting import Receiver
from tests.conftest import FakeClock
from tests.factories import add_user


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver listening on loopback for the whole test."""
    receiver = Receiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def _allow_private(settings: Settings, allowed: bool = True) -> Settings:
    """The settings with deliveries to private addresses (the loopback receiver) allowed,
    or with `allowed=False` refused."""
    return settings.model_copy(update={"http_allow_private": allowed})


def _sender(settings: Settings) -> ChannelSender:
    return ChannelSender(settings, SecretBox(settings))


async def _channel(
    db: Database, settings: Settings, principal: Principal, **fields: Any
) -> CreatedChannel:
    async with db.transaction() as session:
        return await create_channel(session, SecretBox(settings), principal, **fields)


async def _setup(
    db: Database, settings: Settings, url: str, *, threshold: int = 1
) -> tuple[int, int, str]:
    """A member with one webhook channel and default rules using it."""
    principal = await add_user(db, "ops@example.com")
    created = await _channel(
        db,
        settings,
        principal,
        name="ops hook",
        kind="webhook",
        config={"url": url},
        allow_private=True,
    )
    async with db.transaction() as session:
        await alerts.set_rule(
            session,
            principal.user_id,
            "default",
            0,
            alerts.RuleInput(channel_ids=[created.channel.id], failure_threshold=threshold),
        )
    assert created.signing_secret
    return principal.user_id, created.channel.id, created.signing_secret


async def _report(
    db: Database,
    owner_id: int,
    kind: str,
    key: str,
    clock: FakeClock,
    subject: alerts.Subject = "monitor",
) -> None:
    async with db.transaction() as session:
        await alerts.report(
            session,
            subject=subject,
            subject_id=7,
            owner_id=owner_id,
            kind=kind,
            occurrence_key=key,
            summary=f"ping {key}: {kind}",
            at=clock.now(),
            name="nightly backup",
        )


async def _opened(db: Database, settings: Settings, url: str, clock: FakeClock) -> tuple[int, str]:
    """`_setup`, then a first failure that opens an incident: one notification to send.
    Returns the owner and the webhook's signing secret."""
    owner, _channel_id, secret = await _setup(db, settings, url)
    await _report(db, owner, "down", "p1", clock)
    return owner, secret


async def _notifications(db: Database) -> list[Notification]:
    async with db.session() as session:
        return list((await session.scalars(select(Notification).order_by(Notification.id))).all())


async def test_a_receiver_that_is_down_gets_the_notification_after_it_comes_back(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    settings = _allow_private(settings)
    receiver = Receiver()  # not started: nothing listens on its port yet
    _owner, secret = await _opened(db, settings, receiver.url(), clock)
    sender = _sender(settings)

    assert await outbox.deliver_due(db, sender, "w1", clock.now()) == 1
    [pending] = await _notifications(db)
    assert pending.status == "pending" and pending.attempts == 1
    assert pending.last_error and pending.next_attempt_at > clock.now()
    # Not due again before its backoff has passed.
    assert await outbox.deliver_due(db, sender, "w1", clock.now()) == 0

    await receiver.start()
    try:
        assert await outbox.deliver_due(db, sender, "w1", clock.advance(hours=1)) == 1
        assert await outbox.deliver_due(db, sender, "w1", clock.advance(hours=1)) == 0
    finally:
        await receiver.stop()
    [sent] = await _notifications(db)
    assert sent.status == "sent" and sent.attempts == 2
    [delivery] = receiver.deliveries
    assert delivery.signed_with(secret)
    assert delivery.json["event"] == "incident.opened"
    assert delivery.json["incident"]["subject"] == "monitor"
    assert delivery.headers["Idempotency-Key"] == sent.idempotency_key


async def test_a_delivery_whose_worker_died_is_reclaimed_and_sent_once(
    db: Database, settings: Settings, clock: FakeClock, receiver: Receiver
) -> None:
    settings = _allow_private(settings)
    await _opened(db, settings, receiver.url(), clock)
    [claimed] = await outbox.claim(db, "dead-worker", clock.now())  # then it dies
    sender = _sender(settings)
    assert await outbox.deliver_due(db, sender, "w2", clock.advance(10)) == 0  # leased
    later = clock.advance(outbox.LEASE_SECONDS)
    assert await outbox.deliver_due(db, sender, "w2", later) == 1
    # The dead worker's late write changes nothing: the row is no longer its own.
    assert await outbox.finish(db, "dead-worker", claimed, None, later) == "sent"
    [row] = await _notifications(db)
    assert row.status == "sent" and row.attempts == 2
    assert len(receiver.deliveries) == 1


async def test_threshold_dedupe_reminders_and_one_recovery(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    # A job's streak (a monitor's first problem opens its incident whatever the threshold).
    owner, channel, _secret = await _setup(db, settings, "https://hooks.example.com/x", threshold=2)
    async with db.transaction() as session:
        rule = await alerts.get_rule(session, owner, "default", 0)
        assert rule is not None
        rule.remind_every_hours = 1
    await _report(db, owner, "down", "p1", clock, "job")
    await _report(db, owner, "down", "p1", clock, "job")  # the same occurrence again: not counted
    assert await _notifications(db) == []
    clock.advance(60)
    await _report(db, owner, "late", "p2", clock, "job")  # 2 in a row: opened
    clock.advance(60)
    await _report(db, owner, "down", "p3", clock, "job")  # same incident: quiet
    clock.advance(minutes=30)
    assert await outbox.remind_due(db, clock.now()) == 0  # not yet: an hour after opening
    await _report(db, owner, "down", "p4", clock, "job")
    clock.advance(minutes=29)
    assert await outbox.remind_due(db, clock.now()) == 1  # still failing, an hour on
    assert await outbox.remind_due(db, clock.now()) == 0  # once
    clock.advance(60)
    await _report(db, owner, "up", "p5", clock, "job")
    clock.advance(60)
    await _report(db, owner, "up", "p6", clock, "job")
    rows = await _notifications(db)
    assert [(n.kind, n.channel_id) for n in rows] == [
        ("opened", channel),
        ("reminder", channel),
        ("recovered", channel),
    ]
    async with db.session() as session:
        [incident] = await alerts.list_incidents(session, owner, "job", 7)
    assert incident.status == "resolved" and incident.failures == 4 and incident.kind == "late"


async def test_secrets_are_encrypted_at_rest_and_masked(db: Database, settings: Settings) -> None:
    url = "https://hooks.slack.example.com/services/T000/B000/very-secret"
    principal = await add_user(db, "ops@example.com")
    created = await _channel(
        db, settings, principal, name="slack", kind="slack", config={"url": url}
    )
    async with db.session() as session:
        stored = await session.get(AlertChannel, created.channel.id)
    assert stored is not None
    assert "very-secret" not in str(stored.config)
    assert public_config(stored) == {"url": "https://hooks.slack.example.com/…"}


async def test_a_webhook_to_a_private_address_is_refused_for_good(
    db: Database, settings: Settings, clock: FakeClock, receiver: Receiver
) -> None:
    settings = _allow_private(settings, allowed=False)
    await _opened(db, settings, receiver.url(), clock)
    sender = _sender(settings)
    assert await outbox.deliver_due(db, sender, "w1", clock.now()) == 1
    [row] = await _notifications(db)
    assert row.status == "failed" and "127.0.0.1" in (row.last_error or "")
    assert receiver.deliveries == []
    assert await outbox.deliver_due(db, sender, "w1", clock.now() + timedelta(days=1)) == 0
    # Creating one with a literal private address is refused at once, naming the field.
    principal = await add_user(db, "eve@example.com")
    with pytest.raises(ValidationError) as refused:
        await _channel(
            db,
            settings,
            principal,
            name="x",
            kind="slack",
            config={"url": "http://169.254.169.254/latest"},
        )
    assert refused.value.field == "url" and "169.254.169.254" in refused.value.message


async def test_send_test_reports_the_problem_and_is_rate_limited(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(update={"smtp_url": None})
    principal = await add_user(db, "ops@example.com")
    created = await _channel(
        db, settings, principal, name="me", kind="email", config={"address": "ops@example.com"}
    )
    for _ in range(TEST_LIMIT):
        result = await send_test(db, settings, principal, created.channel.id, clock.now())
        assert not result.ok and "DTS_SMTP_URL" in (result.error or "")
    with pytest.raises(RateLimited) as refused:
        await send_test(db, settings, principal, created.channel.id, clock.now())
    assert "too many test notifications" in refused.value.message
    # Someone else's channel is not found, and their tests count on their own.
    other = await add_user(db, "eve@example.com")
    with pytest.raises(NotFound):
        await send_test(db, settings, other, created.channel.id, clock.now())


async def test_retention_prunes_settled_notifications_and_keeps_pending_ones(
    db: Database, settings: Settings, clock: FakeClock, receiver: Receiver
) -> None:
    settings = _allow_private(settings)
    owner, _secret = await _opened(db, settings, receiver.url(), clock)  # opened: will be sent
    assert await outbox.deliver_due(db, _sender(settings), "w1", clock.now()) == 1
    clock.advance(60)
    await _report(db, owner, "up", "p2", clock)  # recovered: still pending
    assert await outbox.prune(db, clock.now() + timedelta(days=1)) == 1
    [left] = await _notifications(db)
    assert left.kind == "recovered" and left.status == "pending"
