"""Bulk fixtures: users, jobs and queued runs inserted with executemany, not service calls.

A job row is built once the way `JobService.create_job` builds it (`parse_job_input`,
`draft_columns`, `next_after`), then copied with a new name and `next_run_at`: 100,000
jobs take seconds instead of 100,000 transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select

from app.db.engine import Database
from app.db.models import Job, Run, User
from app.domain.job_input import parse_job_input
from app.domain.schedule import next_after
from app.services.access import Principal
from app.services.jobs import draft_columns
from app.services.runs import new_run_row

CHUNK = 5_000
BASE_TIME = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday, far from any DST change


async def add_user(db: Database, email: str = "bench@example.com") -> Principal:
    async with db.transaction() as session:
        user_id = await session.scalar(
            insert(User)
            .values(email=email, password_hash="not-a-hash", role="admin")
            .returning(User.id)
        )
    assert user_id is not None
    return Principal(user_id=user_id, email=email, role="admin")


def job_row(
    owner_id: int,
    *,
    name: str,
    url: str,
    cron: str,
    timezone: str = "UTC",
    now: datetime = BASE_TIME,
    timeout_seconds: float = 60,
    max_attempts: int = 1,
) -> dict[str, Any]:
    """One HTTP job's columns, as `JobService.create_job` would store them."""
    draft = parse_job_input(
        {
            "type": "http",
            "name": name,
            "schedule": cron,
            "timezone": timezone,
            "http": {"method": "GET", "url": url},
            "timeoutSeconds": timeout_seconds,
            "retry": {"maxAttempts": max_attempts},
        },
        now=now,
    )
    row = draft_columns(draft)
    row.update(
        owner_id=owner_id,
        next_run_at=next_after(draft.schedule, now),
        paused_at=None,
        created_at=now,
        updated_at=now,
    )
    return row


async def insert_jobs(db: Database, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert job rows in chunks; returns their ids in order."""
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = list(rows[start : start + CHUNK])
        async with db.transaction() as session:
            result = await session.execute(
                insert(Job).returning(Job.id, sort_by_parameter_order=True), chunk
            )
            ids += [row[0] for row in result]
    return ids


def copies(row: dict[str, Any], count: int, prefix: str, **changes: Any) -> list[dict[str, Any]]:
    return [{**row, **changes, "name": f"{prefix}-{i}"} for i in range(count)]


def run_rows(
    job_ids: Sequence[int], owner_id: int, scheduled_for: datetime, now: datetime
) -> list[dict[str, Any]]:
    """Queued first attempts, one per job, as the scheduler tick would insert them."""
    rows = []
    for job_id in job_ids:
        job = SimpleNamespace(id=job_id, owner_id=owner_id, starting_deadline_seconds=None)
        rows.append(new_run_row(job, scheduled_for, now=now))  # type: ignore[arg-type]
    return rows


async def insert_runs(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """All rows in one transaction: they become visible (and claimable) at once."""
    async with db.transaction() as session:
        for start in range(0, len(rows), CHUNK):
            await session.execute(insert(Run), list(rows[start : start + CHUNK]))


async def analyze(db: Database) -> None:
    """Fresh statistics, as autovacuum would have them a minute after a bulk load."""
    from sqlalchemy import text

    async with db.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()


async def count(db: Database, query: Any) -> int:
    async with db.session() as session:
        return int(await session.scalar(query) or 0)


__all__ = [
    "BASE_TIME",
    "add_user",
    "analyze",
    "copies",
    "count",
    "insert_jobs",
    "insert_runs",
    "job_row",
    "run_rows",
    "select",
]
