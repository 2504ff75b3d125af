"""`/metrics` on a live `dts up` (API + embedded worker) after real runs, and the monitor,
ping and alerting series on an in-process app; both engines."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.db.engine import Database
from app.db.types import utcnow
from app.server import create_app
from app.services import alerts, outbox
from app.services.channels import ChannelSender, create_channel
from app.services.monitors import MonitorService
from app.services.secrets import SecretBox
from tests.alerting import Receiver
from tests.factories import add_user
from tests.live import LiveServer, dts_env
from tests.rest.conftest import Client, mint_clients


@pytest.fixture
async def up_url(database_url: str, db: Database) -> AsyncIterator[str]:
    server = LiveServer(
        "up", dts_env(database_url, DTS_POLL_INTERVAL="0.05", DTS_LEASE_SECONDS="5")
    )
    try:
        await asyncio.to_thread(server.wait_healthy)
        yield server.url
    finally:
        server.stop()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def wait_final(client: Client, run_ids: list[int], timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        runs = [(await client.get(f"/api/runs/{rid}")).json() for rid in run_ids]
        if all(r["status"] not in ("queued", "running") for r in runs):
            return runs
        assert time.monotonic() < deadline, runs
        await asyncio.sleep(0.1)


async def test_metrics_after_runs(up_url: str, db: Database, password_hash: str) -> None:
    clients = await mint_clients(up_url, db, password_hash, {"admin": "admin"})
    admin = clients["admin"]
    try:
        ok_job = {
            "type": "script",
            "name": "hello",
            "schedule": "0 0 1 1 *",
            "timezone": "UTC",
            "script": {"command": sys.executable, "args": ["scripts/hello.py"], "cwd": "./"},
        }
        bad_job = {
            **ok_job,
            "name": "fails",
            "script": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]},
            "retry": {"maxAttempts": 1},
        }
        ok = (await admin.post("/api/jobs", json=ok_job)).json()
        bad = (await admin.post("/api/jobs", json=bad_job)).json()
        run_ids = []
        for job in (ok, ok, bad):
            response = await admin.post(f"/api/jobs/{job['id']}/trigger")
            assert response.status_code == 201, response.text
            run_ids.append(response.json()["id"])
        runs = await wait_final(admin, run_ids)
        assert [r["status"] for r in runs] == ["succeeded", "succeeded", "failed"], runs
        assert runs[2]["exitCode"] == 3

        logs = await admin.get(f"/api/runs/{run_ids[0]}/logs")
        assert any("Hello from DTS worker" in line["text"] for line in logs.json()["items"])

        # The feed-fed series catch up within the hub's polling interval.
        wanted = {
            ("dts_runs_finished_total", frozenset({("status", "succeeded")})): 2,
            ("dts_runs_finished_total", frozenset({("status", "failed")})): 1,
            ("dts_run_start_lag_seconds_count", frozenset({("trigger", "manual")})): 3,
        }
        deadline = time.monotonic() + 10
        while True:
            response = await admin.http.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            found = samples(response.text)
            if all(found.get(k) == v for k, v in wanted.items()):
                break
            assert time.monotonic() < deadline, response.text
            await asyncio.sleep(0.2)
    finally:
        await admin.http.aclose()

    assert value(found, "dts_runs", status="succeeded") == 2
    assert value(found, "dts_runs", status="failed") == 1
    assert value(found, "dts_runs", status="queued") == 0
    assert value(found, "dts_queue_depth", state="due") == 0
    assert value(found, "dts_queue_depth", state="waiting") == 0
    assert value(found, "dts_queue_oldest_due_seconds") == 0
    assert value(found, "dts_workers_active") == 1
    assert value(found, "dts_worker_slots", state="capacity") >= 1
    assert value(found, "dts_jobs", state="active") == 2
    assert value(found, "dts_run_duration_seconds_count", status="succeeded") == 2
    assert value(found, "dts_run_duration_seconds_count", status="failed") == 1
    assert value(found, "dts_run_duration_seconds_sum", status="succeeded") > 0
    assert value(found, "dts_runs_finished_total", status="succeeded") == 2
    assert value(found, "dts_run_start_lag_seconds_count", trigger="manual") == 3
    lag = value(found, "dts_run_start_lag_seconds_sum", trigger="manual") / 3
    assert 0 <= lag < 5
    trigger_requests = value(
        found,
        "dts_http_request_duration_seconds_count",
        method="POST",
        route="/api/jobs/{id}/trigger",
        status="201",
    )
    assert trigger_requests == 3
    # Paths are labelled by their route template, so ids do not multiply the series.
    assert not any("/api/runs/1" in dict(labels).get("route", "") for _, labels in found)


async def test_each_app_has_its_own_registry(settings: Settings) -> None:
    first, second = create_app(settings), create_app(settings)
    assert first.state.metrics.registry is not second.state.metrics.registry
    transport = httpx.ASGITransport(app=first)
    async with (
        first.router.lifespan_context(first),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "dts_runs{" in response.text


async def test_monitor_ping_and_outbox_metrics(db: Database, settings: Settings) -> None:
    """Monitors by state, pings by kind (and refusals), notifications by status and channel
    kind, and the outbox backlog, against an in-process app and a real outbox delivery."""
    settings = settings.model_copy(update={"http_allow_private": True})
    owner = await add_user(db, "ops@example.com")
    receiver = Receiver()
    await receiver.start()
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
        # No DTS_SMTP_URL here: e-mail notices fail for good at their first attempt.
        mail = await create_channel(
            session, box, owner, name="me", kind="email", config={"address": "ops@example.com"}
        )
    await alerts.set_default_rules(
        db, owner, alerts.RuleInput(channel_ids=[hook.channel.id, mail.channel.id])
    )
    service = MonitorService(db)
    made = {
        name: await service.create_monitor(owner, {"name": name, "periodSeconds": 3600})
        for name in ("up", "down", "running", "new", "paused", "waiting", "due")
    }
    await service.set_paused(owner, made["paused"].id, True)
    sender = ChannelSender(settings, box)

    app = create_app(settings, db=db)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):

        async def ping(name: str, action: str = "", **kwargs: Any) -> int:
            url = f"/ping/{made[name].ping_key}{action}"
            return (await client.post(url, **kwargs)).status_code

        for name in ("up", "down", "running", "waiting", "due"):
            assert await ping(name) == 200
        assert await ping("down", "/fail") == 200  # opened: one notice per channel
        assert await outbox.deliver_due(db, sender, "w1", utcnow()) == 2  # sent, failed
        await receiver.stop()
        assert await ping("waiting", "/1") == 200
        assert await outbox.deliver_due(db, sender, "w1", utcnow()) == 2  # retry, failed
        assert await ping("due", "/fail") == 200  # not delivered yet
        assert await ping("running", "/start") == 200
        assert (await client.get(f"/ping/{uuid.uuid4()}")).status_code == 404
        assert await ping("up", content=b"x" * (101 * 1024)) == 413

        response = await client.get("/metrics")
    assert response.status_code == 200
    found = samples(response.text)
    states = {"up": 1, "down": 3, "running": 1, "new": 1, "paused": 1, "late": 0}
    for state, count in states.items():
        assert value(found, "dts_monitors", state=state) == count, state
    pings = {"success": 5, "fail": 3, "start": 1}
    for kind, count in pings.items():
        assert value(found, "dts_pings_received_total", kind=kind) == count, kind
    assert value(found, "dts_pings_refused_total", reason="not_found") == 1
    assert value(found, "dts_pings_refused_total", reason="too_large") == 1
    assert value(found, "dts_pings_refused_total", reason="rate_limited") == 0
    notices = {
        ("sent", "webhook"): 1,
        ("pending", "webhook"): 2,  # one waiting for its retry, one due
        ("failed", "email"): 2,
        ("pending", "email"): 1,
        ("sent", "email"): 0,
        ("failed", "slack"): 0,
    }
    for (status, kind), count in notices.items():
        assert value(found, "dts_notifications", status=status, channel=kind) == count
    assert value(found, "dts_outbox_backlog", state="due") == 2
    assert value(found, "dts_outbox_backlog", state="waiting") == 1
    assert value(found, "dts_outbox_oldest_due_seconds") >= 0
