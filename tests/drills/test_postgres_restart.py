"""Drill 2: restart PostgreSQL while two workers and an API process are busy.

Three HTTP jobs fire every second and a manual trigger arrives every 0.2 s, against a
real HTTP server on loopback. Mid-stream we restart PostgreSQL. Nobody is restarted by
hand: the workers and the API reconnect by themselves, LISTEN is re-established, every
occurrence of the window has exactly one first attempt, nothing is left queued or
running, and the target never sees the same attempt twice.

The server restarted is a throwaway cluster of the drill's own (initdb in a temporary
directory, a free loopback port: see cluster.py), never the machine's PostgreSQL; the
test checks that the host's server kept its start time.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from app.config import Settings
from app.db.engine import Database
from tests.conftest import truncate_all
from tests.drills.conftest import (
    OwnPostgres,
    WorkerProc,
    host_postmaster_started,
    runs_of,
    tally,
    wait_for,
)
from tests.factories import add_user, http_job, services
from tests.live import REPO, LiveServer, dts_env

pytestmark = pytest.mark.drill

EVERY_SECOND = "* * * * * *"
RARELY = "0 0 1 1 *"
LEASE = "5"


async def listeners(db: Database) -> set[int]:
    """Backend pids of the raw asyncpg connections to our database: the LISTEN connections
    (the pools are named `dts` via application_name; LISTEN connections carry none)."""
    async with db.session() as session:
        pids = await session.scalars(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND application_name = ''"
            )
        )
        return set(pids.all())


async def server_started(db: Database) -> datetime:
    async with db.session() as session:
        started: datetime = await session.scalar(text("SELECT pg_postmaster_start_time()"))
        return started


@pytest.fixture
async def pg(own_postgres: OwnPostgres) -> AsyncIterator[Database]:
    """The drill's database, on its own cluster (overrides the host-backed `pg`)."""
    database = Database(own_postgres.url)
    await truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def pg_settings(own_postgres: OwnPostgres) -> Settings:
    return Settings(
        env="test",
        database_url=own_postgres.url,
        script_root=REPO,
        jwt_secret="test-secret-" + "x" * 32,
        http_allow_private=True,
    )


async def test_postgres_restart_loses_nothing(own_postgres, pg, pg_settings, target) -> None:
    host_started = await host_postmaster_started()
    postgres_url = own_postgres.url
    admin = await add_user(pg, "drill@example.com")
    jobs, runs = services(pg, pg_settings, lambda: datetime.now(UTC))
    ok = {"method": "GET", "url": target.url("/ok")}
    retry = {"maxAttempts": 3, "initialDelay": 0.2}
    cron_jobs = [
        await jobs.create_job(admin, http_job(f"tick-{i}", EVERY_SECOND, http=ok, retry=retry))
        for i in range(3)
    ]
    manual = await jobs.create_job(admin, http_job("manual", RARELY, http=ok, retry=retry))
    first_due = {job.id: job.next_run_at for job in cron_jobs}

    workers = [WorkerProc(postgres_url, lease=float(LEASE)) for _ in range(2)]
    api = LiveServer("api", dts_env(postgres_url, DTS_LEASE_SECONDS=LEASE))
    triggered: list[tuple[int, datetime]] = []
    trigger_errors = 0
    stop_triggers = asyncio.Event()

    async def trigger_stream() -> None:
        nonlocal trigger_errors
        while not stop_triggers.is_set():
            try:
                run = await runs.trigger_job(admin, manual.id)
                triggered.append((manual.id, run.scheduled_for))
            except Exception:
                trigger_errors += 1  # the database is restarting: the caller sees an error
            await asyncio.sleep(0.2)

    try:
        for worker in workers:
            await worker.worker_id(pg)
        await asyncio.to_thread(api.wait_healthy, 60)

        async def all_listening(old: set[int]) -> set[int] | None:
            pids = await listeners(pg) - old
            return pids if len(pids) == len(workers) + 1 else None

        before = await wait_for(lambda: all_listening(set()), timeout=20)
        cluster_started = await server_started(pg)

        stream = asyncio.create_task(trigger_stream())
        await asyncio.sleep(3)
        started = time.monotonic()
        await asyncio.to_thread(own_postgres.cluster.restart)
        restart_took = time.monotonic() - started

        async def api_healthy() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    response = await client.get(api.url + "/api/health", timeout=2)
                    return response.status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for(api_healthy, timeout=30)
        # Every process made a new LISTEN connection (new backend pids) by itself.
        after = await wait_for(lambda: all_listening(before), timeout=30)
        assert await server_started(pg) > cluster_started, "the cluster did not restart"
        reconnected = time.monotonic() - started
        await asyncio.sleep(4)
        stop_triggers.set()
        await stream
        window_end = datetime.now(UTC)

        expected: list[tuple[int, datetime]] = list(triggered)
        for job_id, first in first_due.items():
            assert first is not None
            at = first
            while at <= window_end:
                expected.append((job_id, at))
                at += timedelta(seconds=1)
        all_ids = [*first_due, manual.id]

        async def settled() -> bool:
            history = await runs_of(pg, all_ids)
            present = {(r.job_id, r.scheduled_for) for r in history}
            return set(expected) <= present and all(
                r.status not in ("queued", "running")
                for r in history
                if r.scheduled_for <= window_end
            )

        await wait_for(settled, timeout=60, interval=0.25)
    finally:
        stop_triggers.set()
        api.stop()
        for worker in workers:
            worker.stop()

    history = [r for r in await runs_of(pg, all_ids) if r.scheduled_for <= window_end]
    deliveries = Counter(
        (seen.headers.get("idempotency-key"), seen.headers.get("x-dts-attempt"))
        for seen in target.requests
    )
    result = tally("2 postgres restart", history, expected)
    result.notes["executed twice"] = sum(n > 1 for n in deliveries.values())
    result.notes["restart took"] = f"{restart_took:.1f}s"
    result.notes["API healthy and LISTEN back after"] = f"{reconnected:.1f}s"
    result.notes["LISTEN connections before/re-made after"] = f"{len(before)}/{len(after)}"
    result.notes["trigger calls refused during restart"] = trigger_errors
    result.check()
    assert result.notes["executed twice"] == 0
    assert result.failed == 0 and result.completed == result.expected
    # The restart hit the drill's own cluster only: the machine's server kept running.
    assert await host_postmaster_started() == host_started
