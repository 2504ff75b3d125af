"""DataLoaders: a page of jobs with their last runs, owners and stats, or of monitors with
their pings, costs a constant number of queries, whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from app.db.models import Job, MonitorPing, Run, User

if TYPE_CHECKING:
    from app.context import Services

RECENT = 20


@dataclass(frozen=True)
class JobRunStats:
    counts: dict[str, int]
    recent: list[tuple[str, float | None]]  # (status, duration seconds), oldest first


class Loaders:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.last_run = DataLoader(self._last_runs, cache=True)
        self.stats = DataLoader(self._stats, cache=True)
        self.user = DataLoader(self._users, cache=True)
        self.job = DataLoader(self._jobs, cache=True)
        # Keyed by (monitor id, how many): `Monitor.pings(first)` may differ per field.
        self.monitor_pings = DataLoader(self._monitor_pings, cache=True)

    async def _last_runs(self, job_ids: Sequence[int]) -> list[Run | None]:
        found = await self.services.jobs.last_runs(job_ids)
        return [found.get(job_id) for job_id in job_ids]

    async def _stats(self, job_ids: Sequence[int]) -> list[JobRunStats]:
        """Run counts by status and the last RECENT finished runs, per job, in one session.

        Counts: one GROUP BY. Recent runs: a correlated subquery finds each job's
        RECENT-th newest run id on the (job_id, id) index, and one statement reads the runs
        above it — index-driven, however long a job's history.
        """
        older = Run.__table__.alias("older")
        floor = (
            select(older.c.id)
            .where(older.c.job_id == Run.job_id)
            .order_by(older.c.id.desc())
            .limit(1)
            .offset(RECENT - 1)
            .scalar_subquery()
        )
        counts: dict[int, dict[str, int]] = {}
        recent: dict[int, list[tuple[str, float | None]]] = {}
        async with self.services.db.session() as session:
            for job_id, status, count in await session.execute(
                select(Run.job_id, Run.status, func.count())
                .where(Run.job_id.in_(job_ids))
                .group_by(Run.job_id, Run.status)
            ):
                counts.setdefault(job_id, {})[status] = count
            rows = await session.execute(
                select(Run.job_id, Run.status, Run.started_at, Run.finished_at)
                .where(Run.job_id.in_(job_ids), Run.id >= func.coalesce(floor, 0))
                .order_by(Run.job_id, Run.id)
            )
            for job_id, status, started, finished in rows:
                if finished is not None:
                    seconds = (finished - started).total_seconds() if started else None
                    recent.setdefault(job_id, []).append((status, seconds))
        return [JobRunStats(counts.get(j, {}), recent.get(j, [])) for j in job_ids]

    async def _users(self, ids: Sequence[int]) -> list[User | None]:
        async with self.services.db.session() as session:
            rows = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}
        return [rows.get(i) for i in ids]

    async def _jobs(self, ids: Sequence[int]) -> list[Job | None]:
        async with self.services.db.session() as session:
            rows = {j.id: j for j in await session.scalars(select(Job).where(Job.id.in_(ids)))}
        return [rows.get(i) for i in ids]

    async def _monitor_pings(self, keys: Sequence[tuple[int, int]]) -> list[list[MonitorPing]]:
        """The newest `first` pings of each monitor, newest first: one statement per
        distinct `first`, as for runs above (the first-th newest id found on the
        (monitor_id, id) index, the pings above it read at once). The monitors were read
        through access checks already, like the jobs whose runs `_stats` loads."""
        wanted: dict[int, set[int]] = defaultdict(set)
        for monitor_id, first in keys:
            wanted[first].add(monitor_id)
        found: dict[tuple[int, int], list[MonitorPing]] = defaultdict(list)
        older = MonitorPing.__table__.alias("older")
        async with self.services.db.session() as session:
            for first, monitor_ids in sorted(wanted.items()):
                floor = (
                    select(older.c.id)
                    .where(older.c.monitor_id == MonitorPing.monitor_id)
                    .order_by(older.c.id.desc())
                    .limit(1)
                    .offset(first - 1)
                    .scalar_subquery()
                )
                rows = await session.scalars(
                    select(MonitorPing)
                    .where(
                        MonitorPing.monitor_id.in_(sorted(monitor_ids)),
                        MonitorPing.id >= func.coalesce(floor, 0),
                    )
                    .order_by(MonitorPing.monitor_id, MonitorPing.id.desc())
                )
                for ping in rows:
                    found[(ping.monitor_id, first)].append(ping)
        return [found.get(key, []) for key in keys]
