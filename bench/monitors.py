"""Heartbeat monitors checked per tick at 1,000 vs 10,000 registered monitors.

N monitors of which 100 are past their deadline at each repetition (`up`, deadline just
passed: the tick makes 100 up → late transitions, each a compare-and-set UPDATE plus a
feed event); the rest are `up` with deadlines hours away, or `new`/`down`/paused (no
deadline), so none is due. Reported beside the job tick (`bench/tick.py` prints it): the
median check (100 due) and an idle check (nothing due), at 1,000 and at N; the target is
≤ 1.2× (`ix_monitors_due` keeps the check proportional to the due monitors).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update

from app.db.engine import Database
from app.db.models import Monitor
from app.services.monitors import check_monitors
from bench import report, scaling
from bench.databases import fresh_database
from bench.fixtures import BASE_TIME, CHUNK, add_user, analyze

DUE = 100


def _row(
    owner_id: int, index: int, state: str, deadline: Any, paused: bool = False
) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        "name": f"m{index}",
        "ping_key": str(uuid.uuid4()),
        "schedule_kind": "period",
        "cron": None,
        "timezone": "UTC",
        "period_seconds": 3600.0,
        "grace_seconds": 300.0,
        "max_duration_seconds": None,
        "state": state,
        "ran_too_long": False,
        "paused": paused,
        "last_ping_at": BASE_TIME - timedelta(hours=1),
        "last_start_at": None,
        "next_expected_at": deadline,
        "deadline_at": deadline,
        "created_at": BASE_TIME,
        "updated_at": BASE_TIME,
    }


async def _registered(db: Database, total: int) -> list[int]:
    owner = await add_user(db)
    rows = [_row(owner.user_id, i, "up", BASE_TIME) for i in range(DUE)]
    for i in range(DUE, total):
        kind = i % 4
        if kind == 0:
            rows.append(_row(owner.user_id, i, "new", None))
        elif kind == 1:
            rows.append(_row(owner.user_id, i, "down", None))
        elif kind == 2:
            rows.append(_row(owner.user_id, i, "up", None, paused=True))
        else:
            rows.append(_row(owner.user_id, i, "up", BASE_TIME + timedelta(hours=6 + i % 12)))
    ids: list[int] = []
    async with db.transaction() as session:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            result = await session.execute(
                insert(Monitor).returning(Monitor.id, sort_by_parameter_order=True), chunk
            )
            ids += [r[0] for r in result]
    await analyze(db)
    return ids[:DUE]


async def monitor_check_costs(
    engine: str, sizes: tuple[int, int], reps: int
) -> dict[int, tuple[list[float], list[float]]]:
    """Busy and idle check times per size; the sizes alternate, so drift hits both."""
    async with fresh_database(engine) as small, fresh_database(engine) as large:
        dbs = {sizes[0]: small, sizes[1]: large}
        due_ids = {size: await _registered(db, size) for size, db in dbs.items()}

        async def prepare(size: int, db: Database, minute: datetime) -> None:
            async with db.transaction() as session:  # the same 100 are due again
                await session.execute(
                    update(Monitor)
                    .where(Monitor.id.in_(due_ids[size]))
                    .values(state="up", deadline_at=minute)
                )

        async def busy(size: int, db: Database, minute: datetime) -> None:
            made = await check_monitors(db, minute + timedelta(seconds=1))
            assert made == DUE, f"expected {DUE} transitions, the check made {made}"

        async def idle(size: int, db: Database, minute: datetime) -> None:
            quiet = await check_monitors(db, minute + timedelta(seconds=2))
            assert quiet == 0

        return await scaling.busy_and_idle_times(dbs, reps, busy, idle, prepare)


async def show(engines: list[str], large: int, reps: int) -> None:
    rows = []
    for engine in engines:
        times = await monitor_check_costs(engine, (1_000, large), reps)
        rows += scaling.rows(
            engine, times[1_000], times[large], f"monitor check, {DUE} due", "idle monitor check"
        )
    report.show(
        "Monitor check per tick, median / fastest (reference: the same check at 1,000 "
        "monitors; target ≤ 1.2×, judged on the fastest)",
        scaling.header("monitors", 1_000, large),
        rows,
    )
