"""DataLoaders: a page of jobs with their last runs, owners and stats costs a constant number
of queries, whatever the page size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select
from strawberry.dataloader import DataLoader

from app.db.models import Job, Run, User

if TYPE_CHECKING:
    from app.context import Services

RECENT = 20


class Loaders:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.last_run = DataLoader(self._last_runs, cache=True)
        self.recent_statuses = DataLoader(self._recent_statuses, cache=True)
        self.counts = DataLoader(self._counts, cache=True)
        self.user = DataLoader(self._users, cache=True)
        self.job = DataLoader(self._jobs, cache=True)

    async def _last_runs(self, job_ids: Sequence[int]) -> list[Run | None]:
        found = await self.services.jobs.last_runs(job_ids)
        return [found.get(job_id) for job_id in job_ids]

    async def _counts(self, job_ids: Sequence[int]) -> list[dict[str, int]]:
        found = await self.services.runs.counts_by_job(job_ids)
        return [found.get(job_id, {}) for job_id in job_ids]

    async def _recent_statuses(
        self, job_ids: Sequence[int]
    ) -> list[list[tuple[str, float | None]]]:
        """The last runs' (status, duration in seconds) per job, oldest first.

        Two index-driven queries for any number of jobs: a correlated subquery finds each
        job's RECENT-th newest run id on the (job_id, id) index, then one read of those
        ranges.
        """
        nth_newest = (
            select(Run.id)
            .where(Run.job_id == Job.id)
            .order_by(Run.id.desc())
            .limit(1)
            .offset(RECENT - 1)
            .scalar_subquery()
        )
        out: dict[int, list[tuple[str, float | None]]] = {}
        async with self.services.db.session() as session:
            floors = {
                job_id: floor or 0
                for job_id, floor in await session.execute(
                    select(Job.id, nth_newest).where(Job.id.in_(job_ids))
                )
            }
            if floors:
                ranges = [and_(Run.job_id == job, Run.id >= floor) for job, floor in floors.items()]
                rows = await session.execute(
                    select(Run.job_id, Run.id, Run.status, Run.started_at, Run.finished_at)
                    .where(or_(*ranges))
                    .order_by(Run.job_id, Run.id)
                )
                for job_id, _run_id, status, started, finished in rows:
                    if finished is None:
                        continue
                    seconds = (finished - started).total_seconds() if started else None
                    out.setdefault(job_id, []).append((status, seconds))
        return [out.get(job_id, []) for job_id in job_ids]

    async def _users(self, ids: Sequence[int]) -> list[User | None]:
        async with self.services.db.session() as session:
            rows = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}
        return [rows.get(i) for i in ids]

    async def _jobs(self, ids: Sequence[int]) -> list[Job | None]:
        async with self.services.db.session() as session:
            rows = {j.id: j for j in await session.scalars(select(Job).where(Job.id.in_(ids)))}
        return [rows.get(i) for i in ids]
