"""The workers table as people see it: who is running, how busy, and who is gone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.db.engine import Database
from app.db.models import Worker
from app.services.access import Principal

# A worker that has not heart-beaten for this many leases is shown as gone.
STALE_LEASES = 3


@dataclass(frozen=True)
class WorkerView:
    row: Worker
    alive: bool


async def list_workers(
    db: Database,
    principal: Principal,
    *,
    now: datetime,
    lease_seconds: float,
    include_gone_for: timedelta = timedelta(hours=1),
) -> list[WorkerView]:
    """Live workers first, then those stopped or silent within `include_gone_for`."""
    del principal  # every signed-in user may see the worker fleet
    stale = now - timedelta(seconds=lease_seconds * STALE_LEASES)
    async with db.session() as session:
        rows = await session.scalars(
            select(Worker)
            .where(Worker.last_heartbeat_at >= now - include_gone_for)
            .order_by(Worker.started_at.desc())
        )
        views = [
            WorkerView(row, row.stopped_at is None and row.last_heartbeat_at >= stale)
            for row in rows
        ]
    return sorted(views, key=lambda v: (not v.alive, v.row.host, v.row.id))
