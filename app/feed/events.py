"""Writing to the change feed: one `events` row per state change, in the change's transaction.

The row commits or rolls back with the change, so the feed never shows what did not happen
and never misses what did. On PostgreSQL a statement trigger (migration 0001) sends
`pg_notify('dts_events')`, waking every API process's listener at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db.models import Event
from app.db.types import utcnow

# A Core insert (executemany), not the ORM's bulk path: events are written on hot paths.
EVENTS: Table = Event.__table__  # type: ignore[assignment]

JOB_KINDS = ("job.created", "job.updated", "job.paused", "job.resumed", "job.deleted")
RUN_KINDS = (
    "run.queued",
    "run.started",
    "run.log",
    "run.finished",
    "run.cancelled",
    "run.skipped",
    "run.missed",
)

# An account's rights changed (role, disabled, sessions revoked, password, an API token
# revoked). Its `owner_id` stays empty so no job or run subscription shows it; open
# websockets of the user in `payload.userId` are re-checked when it arrives.
ACCOUNT_CHANGED = "user.changed"


def event_row(
    kind: str,
    *,
    job_id: int | None = None,
    run_id: int | None = None,
    owner_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "job_id": job_id,
        "run_id": run_id,
        "owner_id": owner_id,
        "payload": payload or {},
        "created_at": utcnow(),
    }


async def emit(session: AsyncSession | AsyncConnection, rows: Iterable[dict[str, Any]]) -> None:
    """Append events (as built by `event_row`) in the session's transaction, in one statement."""
    batch = list(rows)
    if batch:
        await session.execute(insert(EVENTS), batch)


async def emit_one(session: AsyncSession | AsyncConnection, kind: str, **fields: Any) -> None:
    await emit(session, [event_row(kind, **fields)])


async def emit_account_changed(
    session: AsyncSession | AsyncConnection, user_id: int, change: str
) -> None:
    await emit_one(session, ACCOUNT_CHANGED, payload={"userId": user_id, "change": change})
