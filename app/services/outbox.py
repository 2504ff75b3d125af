"""The notification outbox: workers claim due notifications, send them, and retry.

Rows are written by app.services.alerts in the transaction of the outcome that caused
them. A worker claims a batch (a lease, `SKIP LOCKED` on PostgreSQL), sends each one
and records the result: sent, retried later with exponential backoff and full jitter
(app.domain.retry), or failed for good after `DELIVERY_POLICY.max_attempts` or on an
answer that retrying cannot change (a refused address, HTTP 4xx). A claimed notification
whose worker died is claimed again when its lease expires: delivery is at least once,
and the `Idempotency-Key` header (the notification's key) lets a receiver drop a repeat.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from app.db.engine import Database
from app.db.models import AlertChannel, Notification
from app.domain.retry import RetryPolicy, backoff_delay
from app.services import alerts
from app.services.channels import ChannelSender, DeliveryError

log = logging.getLogger("dts.outbox")

# About a day of retries: 10 s, 20 s, 40 s … capped at an hour between attempts.
DELIVERY_POLICY = RetryPolicy(max_attempts=30, initial_delay=10.0, max_delay=3600.0, multiplier=2.0)
LEASE_SECONDS = 60.0
# How often a worker looks for due reminders of open incidents.
REMIND_EVERY_SECONDS = 30.0
BATCH = 20


@dataclass
class ClaimedNotification:
    id: int
    channel_kind: str
    channel_config: dict[str, Any]
    payload: dict[str, Any]
    attempts: int  # including this one


async def claim(
    db: Database, worker_id: str, now: datetime, *, limit: int = BATCH
) -> list[ClaimedNotification]:
    """Take up to `limit` due notifications: pending ones, and sending ones whose lease
    expired (their worker died mid-delivery)."""
    async with db.transaction() as session:
        query = (
            select(Notification)
            .where(
                or_(
                    (Notification.status == "pending") & (Notification.next_attempt_at <= now),
                    (Notification.status == "sending") & (Notification.lease_expires_at < now),
                )
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True, of=Notification)
        rows = list((await session.scalars(query)).all())
        if not rows:
            return []
        channels = {
            c.id: c
            for c in await session.scalars(
                select(AlertChannel).where(AlertChannel.id.in_({r.channel_id for r in rows}))
            )
        }
        claimed = []
        for row in rows:
            row.status = "sending"
            row.worker_id = worker_id
            row.lease_expires_at = now + timedelta(seconds=LEASE_SECONDS)
            row.attempts += 1
            channel = channels[row.channel_id]
            claimed.append(
                ClaimedNotification(
                    row.id, channel.kind, dict(channel.config), dict(row.payload), row.attempts
                )
            )
        return claimed


async def finish(
    db: Database,
    worker_id: str,
    item: ClaimedNotification,
    error: DeliveryError | None,
    now: datetime,
) -> str:
    """Record a delivery attempt; returns the new status. Fenced on the lease: a worker
    whose notification was reclaimed writes nothing."""
    values: dict[str, Any]
    if error is None:
        values = {"status": "sent", "delivered_at": now, "last_error": None}
    elif error.retryable and item.attempts < DELIVERY_POLICY.max_attempts:
        delay = backoff_delay(DELIVERY_POLICY, item.attempts)
        values = {
            "status": "pending",
            "next_attempt_at": now + timedelta(seconds=delay),
            "last_error": str(error)[:2000],
        }
    else:
        values = {"status": "failed", "last_error": str(error)[:2000]}
    values.update(worker_id=None, lease_expires_at=None)
    async with db.transaction() as session:
        await session.execute(
            update(Notification)
            .where(
                Notification.id == item.id,
                Notification.worker_id == worker_id,
                Notification.status == "sending",
            )
            .values(values)
        )
    return str(values["status"])


async def deliver_due(
    db: Database, sender: ChannelSender, worker_id: str, now: datetime, *, limit: int = BATCH
) -> int:
    """Claim and send one batch; returns how many were claimed."""
    items = await claim(db, worker_id, now, limit=limit)

    async def one(item: ClaimedNotification) -> None:
        error: DeliveryError | None = None
        try:
            await sender.send(item.channel_kind, item.channel_config, item.payload)
        except DeliveryError as failure:
            error = failure
        except Exception as failure:  # a bug or a broken config must not stop the loop
            error = DeliveryError(f"{type(failure).__name__}: {failure}", retryable=False)
        status = await finish(db, worker_id, item, error, now)
        if error is not None:
            log.warning(
                "notification %s (attempt %d) not delivered: %s; %s",
                item.id,
                item.attempts,
                error,
                "will retry" if status == "pending" else "giving up",
            )

    await asyncio.gather(*(one(item) for item in items))
    return len(items)


async def remind_due(db: Database, now: datetime) -> int:
    """Write the reminders of open incidents that are due; returns how many."""
    return await db.run_write(lambda conn: alerts.remind_due(conn, now))


async def prune(db: Database, cutoff: datetime) -> int:
    """Delete notifications settled (sent, or failed for good) before `cutoff` (retention:
    `DTS_RETENTION_DAYS`, like run history). Pending ones are kept however old."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(Notification).where(
                Notification.status.in_(("sent", "failed")), Notification.created_at < cutoff
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)
