"""MonitorService and pings over real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Event, Monitor, MonitorPing
from app.domain.errors import Forbidden, NotFound, ValidationError
from app.services.monitors import PINGS_KEPT, MonitorService, record_ping
from tests.factories import add_user

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def service(db: Database, at: datetime = T0) -> MonitorService:
    return MonitorService(db, clock=lambda: at)


async def fresh(db: Database, monitor_id: int) -> Monitor:
    async with db.session() as session:
        monitor = await session.get(Monitor, monitor_id)
    assert monitor is not None
    return monitor


async def test_ping_keys_are_random_uuids_and_unique(db) -> None:
    owner = await add_user(db, "ada@example.com")
    keys = set()
    for n in range(20):
        monitor = await service(db).create_monitor(owner, {"name": f"m{n}", "periodSeconds": 60})
        assert len(monitor.ping_key) == 36 and monitor.ping_key[14] == "4"  # uuid4
        keys.add(monitor.ping_key)
    assert len(keys) == 20


async def test_new_monitor_shows_when_its_first_ping_would_be_due(db) -> None:
    owner = await add_user(db, "ada@example.com")
    monitor = await service(db).create_monitor(
        owner, {"name": "m", "cron": "0 3 * * *", "timezone": "Asia/Tokyo"}
    )
    assert monitor.state == "new" and monitor.deadline_at is None
    assert monitor.next_expected_at == datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # 03:00 JST


async def test_update_switches_between_cron_and_period_and_moves_the_deadline(db) -> None:
    owner = await add_user(db, "ada@example.com")
    monitor = await service(db).create_monitor(owner, {"name": "m", "periodSeconds": 3600})
    await record_ping(db, monitor.ping_key, "success", now=T0)
    changed = await service(db).update_monitor(owner, monitor.id, {"periodSeconds": 7200})
    assert changed.deadline_at == T0 + timedelta(hours=2)
    cron = await service(db).update_monitor(owner, monitor.id, {"cron": "*/15 * * * *"})
    assert cron.schedule_kind == "cron" and cron.period_seconds is None
    assert cron.deadline_at == T0 + timedelta(minutes=15)
    with pytest.raises(ValidationError) as error:
        await service(db).update_monitor(owner, monitor.id, {"graceSeconds": "soon"})
    assert error.value.field == "graceSeconds"
    assert (await fresh(db, monitor.id)).grace_seconds == 300  # nothing changed


async def test_access_like_jobs(db) -> None:
    ada = await add_user(db, "ada@example.com")  # the first account is the admin
    bob = await add_user(db, "bob@example.com")
    eve = await add_user(db, "eve@example.com", role="viewer")
    monitor = await service(db).create_monitor(bob, {"name": "m", "periodSeconds": 60})
    assert (await service(db).get_monitor(ada, monitor.id)).id == monitor.id
    assert (await service(db).get_monitor(eve, monitor.id)).id == monitor.id
    carol = await add_user(db, "carol@example.com")
    with pytest.raises(NotFound):
        await service(db).get_monitor(carol, monitor.id)
    with pytest.raises(NotFound):
        await service(db).set_paused(carol, monitor.id, True)
    with pytest.raises(Forbidden):
        await service(db).delete_monitor(eve, monitor.id)
    with pytest.raises(Forbidden):
        await service(db).create_monitor(eve, {"name": "x", "periodSeconds": 60})
    assert (await service(db).list_monitors(carol))[0] == []
    await service(db).set_paused(ada, monitor.id, True)  # admins change anyone's


async def test_ping_to_a_paused_monitor_resumes_it(db) -> None:
    owner = await add_user(db, "ada@example.com")
    monitor = await service(db).create_monitor(owner, {"name": "m", "periodSeconds": 3600})
    await service(db).set_paused(owner, monitor.id, True)
    await record_ping(db, monitor.ping_key, "success", now=T0)
    after = await fresh(db, monitor.id)
    assert not after.paused and after.state == "up" and after.deadline_at == T0 + timedelta(hours=1)


async def test_only_the_newest_pings_are_kept(db) -> None:
    owner = await add_user(db, "ada@example.com")
    monitor = await service(db).create_monitor(owner, {"name": "m", "periodSeconds": 60})
    for n in range(PINGS_KEPT + 15):
        await record_ping(
            db, monitor.ping_key, "success", now=T0 + timedelta(seconds=n), body=b"%d" % n
        )
    pings = await service(db).pings(owner, monitor.id, PINGS_KEPT)
    assert len(pings) == PINGS_KEPT
    assert pings[0].body == str(PINGS_KEPT + 14) and pings[-1].body == "15"
    async with db.session() as session:
        total = await session.scalar(select(func.count()).select_from(MonitorPing))
    assert total == PINGS_KEPT


async def test_unknown_key_records_nothing(db) -> None:
    assert not await record_ping(db, "00000000-0000-4000-8000-000000000000", "success", now=T0)


async def test_deleting_a_monitor_deletes_its_pings_and_says_so(db) -> None:
    owner = await add_user(db, "ada@example.com")
    monitor = await service(db).create_monitor(owner, {"name": "m", "periodSeconds": 60})
    await record_ping(db, monitor.ping_key, "fail", now=T0, exit_status=2, body=b"boom")
    await service(db).delete_monitor(owner, monitor.id)
    assert not await record_ping(db, monitor.ping_key, "success", now=T0)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(MonitorPing)) == 0
        payloads = list(
            await session.scalars(select(Event.payload).where(Event.kind == "monitor.changed"))
        )
    assert [p.get("change") or p["to"] for p in payloads] == ["created", "down", "deleted"]
