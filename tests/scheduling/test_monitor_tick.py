"""Late/down detection in the scheduler tick: each transition exactly once, across workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Event, Monitor
from app.services.access import Principal
from app.services.monitors import MonitorService, record_ping
from tests.factories import add_user
from tests.scheduling.tick_process import race
from worker.tick import next_due_at, tick

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def transitions(db: Database) -> list[tuple[int, str, str]]:
    async with db.session() as session:
        payloads = await session.scalars(
            select(Event.payload).where(Event.kind == "monitor.changed").order_by(Event.id)
        )
        return [(p["monitorId"], p["from"], p["to"]) for p in payloads if "change" not in p]


async def state(db: Database, monitor_id: int) -> Monitor:
    async with db.session() as session:
        monitor = await session.get(Monitor, monitor_id)
    assert monitor is not None
    return monitor


async def pinged_monitor(db: Database, owner: Principal, at: datetime, **fields: object) -> Monitor:
    service = MonitorService(db, clock=lambda: at)
    monitor = await service.create_monitor(owner, {"name": "m", "periodSeconds": 3600, **fields})
    assert await record_ping(db, monitor.ping_key, "success", now=at)
    return monitor


async def test_up_late_down_and_recovery(db) -> None:
    owner = await add_user(db, "ada@example.com")
    monitor = await pinged_monitor(db, owner, T0, graceSeconds=300)
    assert (await state(db, monitor.id)).deadline_at == T0 + timedelta(hours=1)
    assert await next_due_at(db) == T0 + timedelta(hours=1)  # a worker wakes for it
    assert (await tick(db, T0 + timedelta(minutes=59, seconds=59))).monitors == 0
    assert (await tick(db, T0 + timedelta(hours=1))).monitors == 1
    assert (await state(db, monitor.id)).state == "late"
    assert (await tick(db, T0 + timedelta(hours=1, minutes=4))).monitors == 0
    assert (await tick(db, T0 + timedelta(hours=1, minutes=5))).monitors == 1
    down = await state(db, monitor.id)
    assert down.state == "down" and down.deadline_at is None
    assert (await tick(db, T0 + timedelta(days=3))).monitors == 0  # down stays quiet
    await record_ping(db, monitor.ping_key, "success", now=T0 + timedelta(days=3))
    assert (await state(db, monitor.id)).state == "up"
    assert [t[1:] for t in await transitions(db)] == [
        ("new", "up"),
        ("up", "late"),
        ("late", "down"),
        ("down", "up"),
    ]


async def test_start_without_success_ran_too_long(db) -> None:
    owner = await add_user(db, "ada@example.com")
    monitor = await pinged_monitor(db, owner, T0, graceSeconds=60, maxDurationSeconds=600)
    started = T0 + timedelta(minutes=30)
    await record_ping(db, monitor.ping_key, "start", now=started)
    assert (await tick(db, started + timedelta(seconds=599))).monitors == 0
    assert (await tick(db, started + timedelta(seconds=600))).monitors == 1
    late = await state(db, monitor.id)
    assert late.state == "late" and late.ran_too_long
    assert (await tick(db, started + timedelta(seconds=660))).monitors == 1
    assert (await state(db, monitor.id)).state == "down"
    await record_ping(db, monitor.ping_key, "success", now=started + timedelta(seconds=700))
    fresh = await state(db, monitor.id)
    assert fresh.state == "up" and not fresh.ran_too_long


async def test_start_then_success_in_time_is_never_late(db) -> None:
    owner = await add_user(db, "ada@example.com")
    monitor = await pinged_monitor(db, owner, T0, maxDurationSeconds=600)
    await record_ping(db, monitor.ping_key, "start", now=T0 + timedelta(minutes=58))
    await record_ping(db, monitor.ping_key, "success", now=T0 + timedelta(minutes=61))
    assert (await tick(db, T0 + timedelta(minutes=70))).monitors == 0
    assert (await state(db, monitor.id)).state == "up"


async def test_paused_and_new_monitors_are_never_late(db) -> None:
    owner = await add_user(db, "ada@example.com")
    service = MonitorService(db, clock=lambda: T0)
    fresh = await service.create_monitor(owner, {"name": "never pinged", "periodSeconds": 60})
    paused = await pinged_monitor(db, owner, T0)
    await service.set_paused(owner, paused.id, True)
    assert (await tick(db, T0 + timedelta(days=2))).monitors == 0
    assert (await state(db, fresh.id)).state == "new"
    assert (await state(db, paused.id)).state == "up"


async def _berlin_0230_pinged_yesterday(db: Database) -> Monitor:
    """A daily 02:30 Europe/Berlin monitor (600 s grace) pinged at 02:30:20 CET the day
    before the spring-forward night of 2026-03-29."""
    owner = await add_user(db, "ada@example.com")
    yesterday = datetime(2026, 3, 28, 1, 30, 20, tzinfo=UTC)  # 02:30:20 CET
    return await pinged_monitor(
        db,
        owner,
        yesterday,
        periodSeconds=None,
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        graceSeconds=600,
    )


async def test_dst_spring_forward_monitor_is_not_late_before_0300_plus_grace(db) -> None:
    # 02:30 does not exist in Berlin on 2026-03-29: the job runs at 03:00 CEST (01:00Z),
    # as cron does; the monitor expects its ping then, not at a 02:30 that never comes.
    monitor = await _berlin_0230_pinged_yesterday(db)
    expected = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert (await state(db, monitor.id)).next_expected_at == expected
    # A naive reading (02:30 CET = 01:30Z, or a 24 h period = 01:30Z) is not used; before
    # 03:00 CEST nothing happens, and it is not down before 03:00 + grace.
    for minutes in range(0, 60, 5):  # 01:00 CET … 01:55 CET, then 03:00 CEST
        stamp = datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + timedelta(minutes=minutes)
        assert (await tick(db, stamp)).monitors == 0, stamp
    assert (await tick(db, expected + timedelta(seconds=599))).monitors == 1
    assert (await state(db, monitor.id)).state == "late"
    assert (await tick(db, expected + timedelta(seconds=599))).monitors == 0
    assert (await tick(db, expected + timedelta(seconds=600))).monitors == 1
    assert (await state(db, monitor.id)).state == "down"
    # The ping at 03:00:30 CEST makes it up, expecting 02:30 CEST the next day.
    await record_ping(db, monitor.ping_key, "success", now=expected + timedelta(seconds=30))
    after = await state(db, monitor.id)
    assert after.state == "up"
    assert after.next_expected_at == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)


async def test_dst_spring_forward_ping_on_time_stays_up(db) -> None:
    monitor = await _berlin_0230_pinged_yesterday(db)
    on_time = datetime(2026, 3, 29, 1, 0, 15, tzinfo=UTC)  # the job ran at 03:00 CEST
    for minutes in range(0, 60, 10):
        stamp = datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + timedelta(minutes=minutes)
        assert (await tick(db, stamp)).monitors == 0
    await record_ping(db, monitor.ping_key, "success", now=on_time)
    assert (await tick(db, on_time + timedelta(minutes=30))).monitors == 0
    assert (await state(db, monitor.id)).state == "up"


def _race(database_url: str, at: datetime, count: int = 3) -> list[int]:
    return [each["monitors"] for each in race(database_url, at, count, lead_seconds=1.5)]


async def test_three_workers_racing_make_each_transition_exactly_once(db, database_url) -> None:
    owner = await add_user(db, "ada@example.com")
    ids = [(await pinged_monitor(db, owner, T0, graceSeconds=300)).id for _ in range(150)]
    late = _race(database_url, T0 + timedelta(hours=1, seconds=1))
    assert sum(late) == 150, late
    down = _race(database_url, T0 + timedelta(hours=1, minutes=5, seconds=1))
    assert sum(down) == 150, down
    moves = [t for t in await transitions(db) if t[1] != "new"]
    assert sorted(moves) == sorted(
        [(i, "up", "late") for i in ids] + [(i, "late", "down") for i in ids]
    )
    async with db.session() as session:
        states = await session.scalars(select(func.count()).where(Monitor.state == "down"))
        assert states.one() == 150
