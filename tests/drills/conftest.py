"""Failure drills: real `dts` processes, broken on purpose, then every occurrence counted.

A drill runs workers as subprocesses on PostgreSQL (the multi-host engine), breaks
something (SIGKILL, a database restart, a network partition, SIGSTOP, full caps), lets
the system recover by itself, and then counts, per occurrence (job + scheduled time):

- expected: occurrences the drill made due (cron seconds in its window, triggers issued);
- created: occurrences with a first attempt;
- completed: occurrences whose last attempt succeeded;
- duplicated: first attempts beyond one per occurrence (the database forbids them);
- lost: expected occurrences with no run, or whose last attempt never finished.

Every drill prints its tally and asserts duplicated = lost = 0. They are bounded (each
well under a minute) and opt-in, because they break things on purpose: `make drills`, or
`DTS_DRILLS=1 pytest tests/drills` (`.ci/run` turns them on). They never disturb the
machine's own PostgreSQL: the restart drill restarts a throwaway cluster of its own
(cluster.py), and a session check asserts the host server was not restarted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.migrate import upgrade
from app.db.models import Run, RunLog, Worker
from tests.conftest import PG_ADMIN_URL, truncate_all
from tests.drills.cluster import ThrowawayCluster, why_unavailable
from tests.factories import add_user, script_job, services
from tests.live import DTS, REPO, dts_env
from tests.worker.conftest import (  # noqa: F401 - fixtures, re-exported for drills
    target,
    worker_settings,
)

FINAL = ("succeeded", "failed", "timed_out", "cancelled", "lost", "skipped", "missed")


async def host_postmaster_started() -> datetime | None:
    """When the machine's PostgreSQL (the one `make test` uses) last started; None if down."""
    import asyncpg

    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql")), 5
        )
    except Exception:
        return None
    try:
        started: datetime = await conn.fetchval("SELECT pg_postmaster_start_time()")
        return started
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
async def host_postgres_untouched() -> AsyncIterator[None]:
    """The drills break their own processes and their own cluster, never the host's server."""
    before = await host_postmaster_started()
    yield
    if before is not None:
        after = await host_postmaster_started()
        assert after == before, (
            f"the drills restarted the machine's PostgreSQL ({PG_ADMIN_URL}): "
            f"postmaster started at {before}, now at {after}"
        )


@dataclass
class OwnPostgres:
    cluster: ThrowawayCluster
    url: str


@pytest.fixture
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    """A throwaway PostgreSQL cluster with a migrated `dts` database, for drills that restart
    the server (never the machine's own)."""
    import asyncpg

    problem = why_unavailable()
    if problem:
        pytest.skip(f"cannot make a throwaway PostgreSQL cluster: {problem}")
    cluster = ThrowawayCluster()
    try:
        await asyncio.to_thread(cluster.start)
        admin = await asyncpg.connect(cluster.admin_url.replace("postgresql+asyncpg", "postgresql"))
        await admin.execute('CREATE DATABASE "dts"')
        await admin.close()
        url = cluster.url("dts")
        database = Database(url)
        await upgrade(database)
        await database.dispose()
        yield OwnPostgres(cluster, url)
    finally:
        await asyncio.to_thread(cluster.stop)


@pytest.fixture
def pg_settings(postgres_url: str) -> Settings:
    return Settings(
        env="test",
        database_url=postgres_url,
        script_root=REPO,
        jwt_secret="test-secret-" + "x" * 32,
        http_allow_private=True,
    )


# A script that prints a line every 0.1 s until the file named by its argument exists: a
# run that lasts exactly as long as the drill needs it to.
UNTIL_RELEASED = (
    "import os, sys, time\n"
    "print('pid', os.getpid(), flush=True)\n"
    "while not os.path.exists(sys.argv[1]):\n"
    "    print('working', flush=True)\n"
    "    time.sleep(0.1)\n"
    "print('released', flush=True)\n"
)


def held_script(release: Path) -> dict[str, Any]:
    return {"command": "python3", "args": ["-c", UNTIL_RELEASED, str(release)]}


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[Database]:
    """The session's PostgreSQL database, emptied for this drill."""
    database = Database(postgres_url)
    await truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


class WorkerProc:
    """A `dts worker` subprocess whose output goes to a file (a pipe could fill and block it)."""

    def __init__(
        self,
        database_url: str,
        *,
        prefix: Iterable[str] = (),
        lease: float = 3,
        **env: str,
    ) -> None:
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="dts-drill-worker-", suffix=".log", delete=False
        )
        settings = dts_env(
            database_url,
            DTS_LEASE_SECONDS=str(lease),
            DTS_POLL_INTERVAL="0.05",
            DTS_SHUTDOWN_GRACE_SECONDS="2",
            DTS_HTTP_ALLOW_PRIVATE="true",
            **env,
        )
        self.proc = subprocess.Popen(
            [*prefix, *DTS, "worker"],
            env=settings,
            cwd=REPO,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return Path(self.log_file.name).read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 20) -> str:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a paused worker cannot handle SIGTERM
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        out = self.output()
        self.log_file.close()
        Path(self.log_file.name).unlink(missing_ok=True)
        return out

    async def worker_id(self, db: Database, timeout: float = 30) -> str:
        """The id this process registered under (it registers once it is ready)."""

        async def registered() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early: {self.output()}")
            async with db.session() as session:
                return await session.scalar(
                    select(Worker.id).where(Worker.pid == self.pid, Worker.stopped_at.is_(None))
                )

        return str(await wait_for(registered, timeout=timeout))


async def wait_for(
    condition: Callable[[], Awaitable[Any]], timeout: float = 30, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


async def runs_of(db: Database, job_ids: Iterable[int]) -> list[Run]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Run).where(Run.job_id.in_(list(job_ids))).order_by(Run.id)
        )
        return list(rows.all())


async def log_lines(db: Database, run_id: int) -> list[str]:
    async with db.session() as session:
        rows = await session.scalars(
            select(RunLog.text).where(RunLog.run_id == run_id).order_by(RunLog.seq)
        )
        return list(rows.all())


@dataclass
class Tally:
    drill: str
    expected: int
    created: int = 0
    completed: int = 0
    duplicated: int = 0
    lost: int = 0
    recovered: int = 0  # attempts marked `lost` after their lease expired (then retried)
    retried: int = 0  # occurrences that needed more than one attempt
    failed: int = 0  # last attempt finished without success (not lost, but not good)
    notes: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        extra = "".join(f", {k} {v}" for k, v in self.notes.items())
        return (
            f"drill {self.drill}: runs expected {self.expected}, created {self.created}, "
            f"completed {self.completed}, duplicated {self.duplicated}, lost {self.lost}, "
            f"recovered {self.recovered}, retried {self.retried}, failed {self.failed}{extra}"
        )

    def check(self) -> None:
        print("\n" + self.line())
        assert self.duplicated == 0, self.line()
        assert self.lost == 0, self.line()
        assert self.created == self.expected, self.line()


def tally(
    drill: str,
    runs: list[Run],
    expected: Iterable[tuple[int, datetime]] | None = None,
) -> Tally:
    """Count occurrences in `runs`; `expected` lists the (job, scheduled time) that must exist
    (default: every occurrence that has runs)."""
    occurrences: dict[tuple[int, datetime], list[Run]] = {}
    for run in runs:
        occurrences.setdefault((run.job_id, run.scheduled_for), []).append(run)
    wanted = set(expected) if expected is not None else set(occurrences)
    result = Tally(drill, expected=len(wanted))
    for key in wanted:
        attempts = sorted(occurrences.get(key, []), key=lambda r: (r.attempt, r.id))
        firsts = [r for r in attempts if r.attempt == 1]
        if not firsts:
            result.lost += 1
            continue
        result.created += 1
        result.duplicated += len(firsts) - 1
        result.recovered += sum(r.status == "lost" for r in attempts)
        result.retried += len(attempts) > 1
        last = attempts[-1]
        if last.status == "succeeded":
            result.completed += 1
        elif last.status not in FINAL:
            result.lost += 1  # stuck queued or running
        else:
            result.failed += 1
    return result


RARELY = "0 0 1 1 *"
LEASE = 3.0


@dataclass
class Scene:
    """Drills 3 and 4: a stale worker holding a run, a rescuer, a job whose runs we hold."""

    db: Database
    runs: Any
    admin: Any
    job_id: int
    release: Path
    stale: WorkerProc
    stale_id: str
    rescuer: WorkerProc | None = None

    async def history(self) -> list[Run]:
        return await runs_of(self.db, [self.job_id])

    async def first_run_on_stale(self) -> Run:
        """Trigger a run, see it running on the stale worker, then start the rescuer."""
        first = await self.runs.trigger_job(self.admin, self.job_id)

        async def running_with_output() -> bool:
            [run] = await self.history()
            return (
                run.status == "running"
                and run.worker_id == self.stale_id
                and len(await log_lines(self.db, run.id)) >= 3
            )

        await wait_for(running_with_output, timeout=30)
        self.rescuer = WorkerProc(self.db.url, lease=LEASE)
        await self.rescuer.worker_id(self.db)
        return first  # type: ignore[no-any-return]

    async def recovered(self) -> Run:
        """Wait until the rescuer has marked the first run lost and queued its retry."""

        async def retry_exists() -> Run | None:
            history = await self.history()
            return next((r for r in history if r.attempt == 2), None)

        return await wait_for(retry_exists, timeout=30)  # type: ignore[no-any-return]

    async def retry_succeeded(self) -> None:
        async def done() -> bool:
            return any(r.attempt == 2 and r.status == "succeeded" for r in await self.history())

        await wait_for(done, timeout=30)

    async def stale_resumes_work(self) -> Run:
        """With the rescuer gone, the once-partitioned worker must take new work."""
        assert self.rescuer is not None
        self.rescuer.stop()
        self.rescuer = None
        self.release.touch()
        second = await self.runs.trigger_job(self.admin, self.job_id)

        async def done() -> Run | None:
            run = next((r for r in await self.history() if r.id == second.id), None)
            return run if run is not None and run.status == "succeeded" else None

        run: Run = await wait_for(done, timeout=45)
        assert run.worker_id == self.stale_id, "the healed worker did not resume work"
        return run

    def close(self) -> str:
        if self.rescuer is not None:
            self.rescuer.stop()
        return self.stale.stop()


async def set_scene(db: Database, settings: Settings, tmp: Path, stale: WorkerProc) -> Scene:
    """A held script job, and `stale` (the worker about to be cut off) registered."""
    try:
        admin = await add_user(db, "drill@example.com")
        jobs, runs = services(db, settings, lambda: datetime.now(UTC))
        release = tmp / "release"
        job = await jobs.create_job(
            admin,
            script_job(
                cron=RARELY,
                retry={"maxAttempts": 2, "initialDelay": 0.1},
                script=held_script(release),
            ),
        )
        stale_id = await stale.worker_id(db)
    except BaseException:
        stale.stop()
        raise
    return Scene(db, runs, admin, job.id, release, stale, stale_id)
