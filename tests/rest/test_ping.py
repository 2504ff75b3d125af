"""Ping endpoints over real HTTP against a live `dts api`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from app.db.engine import Database
from app.db.models import Event, Monitor, MonitorPing
from app.services.monitors import MonitorService
from tests.factories import add_user
from tests.live import LiveServer, dts_env


async def new_monitor(db: Database, **fields: object) -> Monitor:
    owner = await add_user(db, "ada@example.com")
    data = {"name": "backup", "periodSeconds": 3600, **fields}
    return await MonitorService(db).create_monitor(owner, data)


async def pings_of(db: Database, monitor_id: int) -> list[MonitorPing]:
    async with db.session() as session:
        rows = await session.scalars(
            select(MonitorPing).where(MonitorPing.monitor_id == monitor_id).order_by(MonitorPing.id)
        )
        return list(rows)


async def state_of(db: Database, monitor_id: int) -> Monitor:
    async with db.session() as session:
        monitor = await session.get(Monitor, monitor_id)
    assert monitor is not None
    return monitor


async def test_success_start_fail_and_exit_status_pings(db, anon) -> None:
    monitor = await new_monitor(db)
    key = monitor.ping_key
    response = await anon.get(f"/ping/{key}", headers={"User-Agent": "curl/8.5"})
    assert response.status_code == 200 and response.text == "OK"
    assert (await state_of(db, monitor.id)).state == "up"
    assert (await anon.post(f"/ping/{key}/start")).status_code == 200
    assert (await state_of(db, monitor.id)).state == "running"
    assert (await anon.post(f"/ping/{key}/0", content=b"all good\n")).status_code == 200
    assert (await state_of(db, monitor.id)).state == "up"
    assert (await anon.post(f"/ping/{key}/3", content=b"disk full\x00\xff")).status_code == 200
    assert (await state_of(db, monitor.id)).state == "down"
    assert (await anon.get(f"/ping/{key.upper()}/fail")).status_code == 200
    pings = await pings_of(db, monitor.id)
    assert [(p.kind, p.exit_status) for p in pings] == [
        ("success", None),
        ("start", None),
        ("success", 0),
        ("fail", 3),
        ("fail", None),
    ]
    assert pings[0].user_agent == "curl/8.5" and pings[0].remote_addr == "127.0.0.1"
    assert pings[2].body == "all good\n"
    assert pings[3].body == "disk full\ufffd\ufffd"  # NUL and invalid UTF-8 stored safely
    async with db.session() as session:
        changes = list(
            await session.scalars(
                select(Event.payload).where(Event.kind == "monitor.changed").order_by(Event.id)
            )
        )
    moves = [(c["from"], c["to"]) for c in changes if "to" in c and "change" not in c]
    assert moves == [("new", "up"), ("up", "running"), ("running", "up"), ("up", "down")]


async def test_unknown_uuid_reveals_nothing(db, anon) -> None:
    monitor = await new_monitor(db)
    other = str(uuid.uuid4())
    # Starlette's (and the dashboard's, app/web.py) 404 for any unknown path outside /api.
    reference = httpx.Response(404, text="Not Found")
    for path in (f"/ping/{other}", f"/ping/{other}/start", "/ping/not-a-uuid", "/ping/x/1"):
        for method in ("GET", "POST"):
            response = await anon.request(method, path)
            assert response.status_code == 404, (method, path)
            assert response.text == reference.text
            assert response.headers["content-type"] == reference.headers["content-type"]
    for bad in ("256", "-1", "abc", "0001"):
        response = await anon.get(f"/ping/{monitor.ping_key}/{bad}")
        assert response.status_code == 404 and response.text == reference.text
    assert await pings_of(db, monitor.id) == []


async def test_body_over_100_kb_is_refused(db, anon) -> None:
    monitor = await new_monitor(db)
    exact = b"x" * (100 * 1024)
    assert (await anon.post(f"/ping/{monitor.ping_key}", content=exact)).status_code == 200
    response = await anon.post(f"/ping/{monitor.ping_key}", content=exact + b"y")
    assert response.status_code == 413 and "100 KB" in response.text

    async def chunks():  # no Content-Length: the stream is counted as it comes
        for _ in range(101):
            yield b"z" * 1024

    streamed = await anon.post(f"/ping/{monitor.ping_key}", content=chunks())
    assert streamed.status_code == 413
    [stored] = await pings_of(db, monitor.id)
    assert len(stored.body) == 100 * 1024


async def test_pings_are_rate_limited_per_uuid(db, anon) -> None:
    monitor = await new_monitor(db)
    for _ in range(60):
        assert (await anon.get(f"/ping/{monitor.ping_key}")).status_code == 200
    refused = await anon.get(f"/ping/{monitor.ping_key}")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Traceback" not in refused.text
    # Another monitor from the same address is not held up by the first one's limit.
    async with db.session() as session:
        owner_id = (await session.get(Monitor, monitor.id)).owner_id  # type: ignore[union-attr]
    from app.services.access import Principal

    owner = Principal(user_id=owner_id, email="ada@example.com", role="member")
    second = await MonitorService(db).create_monitor(owner, {"name": "b", "periodSeconds": 60})
    assert (await anon.get(f"/ping/{second.ping_key}")).status_code == 200
    assert len(await pings_of(db, monitor.id)) == 60


async def test_pings_are_rate_limited_per_address_even_for_unknown_uuids(db, database_url) -> None:
    """Guessing uuids from one address is held up like pinging: the per-address limit counts
    every ping URL, known or not (DTS_PING_IP_LIMIT, here 5)."""
    monitor = await new_monitor(db)
    server = LiveServer("api", dts_env(database_url, DTS_PING_IP_LIMIT="5"))
    try:
        server.wait_healthy()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            for _ in range(4):
                guess = await http.get(f"/ping/{uuid.uuid4()}")
                assert guess.status_code == 404
            assert (await http.get(f"/ping/{monitor.ping_key}")).status_code == 200
            refused = await http.get(f"/ping/{monitor.ping_key}")
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            assert "address" in refused.text
            assert (await http.get(f"/ping/{uuid.uuid4()}")).status_code == 429
    finally:
        server.stop()
    assert len(await pings_of(db, monitor.id)) == 1
