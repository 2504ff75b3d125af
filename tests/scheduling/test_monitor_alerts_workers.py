"""Must show (issue #13): with 3 workers on PostgreSQL, a monitor that misses its ping
alerts exactly once. Three real `dts worker` processes tick against one database; the
monitors' deadlines fall while all three are running, so they race for each transition,
and a real webhook receiver on loopback counts what arrives."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.db.engine import Database
from app.db.models import Event, Monitor, Notification, Worker
from app.db.types import utcnow
from app.services import alerts
from app.services.channels import create_channel
from app.services.monitors import MonitorService, record_ping
from app.services.secrets import SecretBox
from tests.alerting import Receiver
from tests.conftest import truncate_all
from tests.factories import add_user
from tests.live import DtsProcess, dts_env
from tests.worker.conftest import wait_for

MONITORS = 10


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url)
    await truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


async def test_three_workers_on_postgres_alert_once_per_missed_ping(
    pg: Database, postgres_url: str
) -> None:
    settings = Settings(env="test", database_url=postgres_url, jwt_secret="test-secret-" + "x" * 32)
    receiver = Receiver()
    await receiver.start()
    owner = await add_user(pg, "ops@example.com")
    async with pg.transaction() as session:
        hook = await create_channel(
            session,
            SecretBox(settings),
            owner,
            name="hook",
            kind="webhook",
            config={"url": receiver.url()},
            allow_private=True,
        )
    await alerts.set_default_rules(pg, owner, alerts.RuleInput(channel_ids=[hook.channel.id]))
    env = dts_env(
        postgres_url,
        DTS_HTTP_ALLOW_PRIVATE="true",
        DTS_POLL_INTERVAL="0.05",
        DTS_SHUTDOWN_GRACE_SECONDS="2",
    )
    workers = [DtsProcess(["worker"], env) for _ in range(3)]
    try:

        async def all_running() -> bool:
            for worker in workers:
                assert worker.proc.poll() is None, worker.stop()
            async with pg.session() as session:
                count = await session.scalar(
                    select(func.count()).select_from(Worker).where(Worker.stopped_at.is_(None))
                )
            return count == 3

        await wait_for(all_running, timeout=60)
        # Hourly monitors whose last ping was (almost) an hour ago: late in 3 s, while
        # all three workers are up and waiting for that deadline; down a second later.
        service = MonitorService(pg)
        ids = []
        for n in range(MONITORS):
            monitor = await service.create_monitor(
                owner, {"name": f"backup {n}", "periodSeconds": 3600, "graceSeconds": 1}
            )
            pinged = utcnow() - timedelta(hours=1) + timedelta(seconds=3)
            assert await record_ping(pg, monitor.ping_key, "success", now=pinged)
            ids.append(monitor.id)

        async def settled() -> bool:
            async with pg.session() as session:
                down = await session.scalar(
                    select(func.count()).select_from(Monitor).where(Monitor.state == "down")
                )
                sent = await session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.status == "sent")
                )
            return down == MONITORS and sent == MONITORS

        await wait_for(settled, timeout=60)
        await asyncio.sleep(2)  # time for a duplicate to show, were there one
    finally:
        outputs = [worker.stop() for worker in workers]
        await receiver.stop()
    assert all(worker.proc.returncode == 0 for worker in workers), outputs

    names = Counter(d.json["incident"]["name"] for d in receiver.deliveries)
    assert names == Counter({f"backup {n}": 1 for n in range(MONITORS)})
    assert set(receiver.events()) == {"incident.opened"}
    async with pg.session() as session:
        notices = list(await session.scalars(select(Notification)))
        payloads = list(
            await session.scalars(select(Event.payload).where(Event.kind == "monitor.changed"))
        )
    assert len(notices) == MONITORS and {n.status for n in notices} == {"sent"}
    moves = sorted((p["monitorId"], p["from"], p["to"]) for p in payloads if "change" not in p)
    expected = [(i, "new", "up") for i in ids]
    expected += [(i, "up", "late") for i in ids] + [(i, "late", "down") for i in ids]
    assert moves == sorted(expected)  # each transition made by exactly one worker
