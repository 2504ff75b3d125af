"""PostgreSQL's one-statement claim and record (claims_pg.py) write exactly what the
portable transactions (claims.py, SQLite's path) write: same run rows, log rows, events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.db.models import Event, Run, RunLog
from tests.conftest import truncate_all
from tests.factories import add_user, http_job, services
from worker.claims import (
    ClaimedRun,
    Outcome,
    Record,
    _claim_runs_tx,
    _record_runs_tx,
    record_events,
)
from worker.claims_pg import claim_runs_pg, record_runs_pg

# Microseconds in the instants: the SQL-built payloads must match Python's isoformat.
T0 = datetime(2026, 3, 29, 0, 59, 30, 120500, tzinfo=UTC)


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url)
    await truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


async def _two_queued_runs(db: Database, settings: Any, clock: Any) -> None:
    clock.set(T0)
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, settings, clock.now)
    for name in ("a", "b"):
        job = await jobs.create_job(owner, http_job(name=name, cron="0 0 1 1 *"))
        await runs.trigger_job(owner, job.id)


def _records(run: ClaimedRun, now: datetime) -> list[Record]:
    lines = [(now, "system", "GET / → 200 OK"), (now, "stdout", "é ok \\ 'quoted' \"x\"")]
    if run.job_name == "a":
        outcome = Outcome("succeeded", http_status=200, output="ok", log_truncated=True)
        return [Record(run, run.log_lines + 1, lines, outcome=outcome)]
    # b: lines while running, then handed back at shutdown.
    return [
        Record(run, run.log_lines + 1, lines[:1], truncated=False),
        Record(run, run.log_lines + 2, lines[1:], release=True),
    ]


def _row(obj: Any, skip: set[str]) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skip}


async def _snapshot(db: Database) -> dict[str, Any]:
    async with db.session() as session:
        runs = [
            _row(r, {"id", "job_id", "root_run_id", "queued_at"})
            for r in await session.scalars(select(Run).order_by(Run.id))
        ]
        logs = [
            _row(r, {"id", "run_id"})
            for r in await session.scalars(select(RunLog).order_by(RunLog.id))
        ]
        events = [
            (e.kind, e.payload)
            for e in await session.scalars(select(Event).order_by(Event.id))
            if (e.kind.startswith("run.") and e.kind != "run.queued") or "reason" in e.payload
        ]
    return {"runs": runs, "logs": logs, "events": events}


async def _drive(db: Database, settings: Any, clock: Any, *, fast: bool) -> dict[str, Any]:
    await truncate_all(db)
    await _two_queued_runs(db, settings, clock)
    now = T0 + timedelta(seconds=1, microseconds=7)
    if fast:
        claimed = await claim_runs_pg(db, "w1", 10, now, 30)
    else:
        claimed = await _claim_runs_tx(db, "w1", 10, now, 30, True)
    assert [c.job_name for c in claimed] == ["a", "b"]
    later = now + timedelta(milliseconds=250)
    for run in claimed:
        for record in _records(run, later):
            if fast:
                events = record_events([record], "w1", later)
                owned = await record_runs_pg(db, "w1", [record], later, events)
            else:
                owned = await _record_runs_tx(db, "w1", [record], later, None)
            assert owned == {run.id}
    # Fenced: a run no longer ours (b went back to the queue) takes nothing more.
    stale = Record(claimed[1], 99, [(later, "stdout", "late")], outcome=Outcome("failed"))
    if fast:
        owned = await record_runs_pg(db, "w1", [stale], later, record_events([stale], "w1", later))
    else:
        owned = await _record_runs_tx(db, "w1", [stale], later, None)
    assert owned == set()
    return await _snapshot(db)


@pytest.mark.parametrize("engine_name", ["postgres"])  # the fast path is PostgreSQL's
async def test_one_statement_paths_write_what_the_transactions_write(
    pg: Database, settings: Any, clock: Any
) -> None:
    portable = await _drive(pg, settings, clock, fast=False)
    fast = await _drive(pg, settings, clock, fast=True)
    assert fast == portable
    # And what they wrote is what was meant.
    a, b = portable["runs"]
    assert a["status"] == "succeeded" and a["log_lines"] == 2 and a["log_truncated"]
    assert b["status"] == "queued" and b["worker_id"] is None and b["log_lines"] == 2
    kinds = [kind for kind, _ in portable["events"]]
    assert kinds == [
        "run.started",
        "run.started",
        "run.log",
        "run.finished",
        "run.log",
        "run.log",
        "run.queued",
    ]
    started = portable["events"][0][1]
    assert started["scheduledFor"] == T0.isoformat()
    assert started["startedAt"] == (T0 + timedelta(seconds=1, microseconds=7)).isoformat()
