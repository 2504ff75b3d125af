"""Draining queued work with real worker processes: dts, Procrastinate, raw client loops.

Shared by the throughput, latency and memory benchmarks. Each function starts its own
processes and stops them before returning, whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.db.engine import Database
from app.db.models import Event, Run, RunLog, Worker
from bench import processes
from bench.databases import fresh_postgres, pg_url
from bench.fixtures import add_user, copies, insert_jobs, insert_runs, job_row, run_rows
from bench.reference.environment import reference_python, sniffio_path

FINAL = ("succeeded", "failed", "timed_out", "cancelled", "lost", "skipped", "missed")


@dataclass
class Drained:
    count: int
    seconds: float
    recorded: int = 0  # runs fully recorded (status, times, HTTP status, a log line, event)
    detail: str = ""
    client_cpu: float = float("nan")  # CPU seconds of the worker / client processes
    db_cpu: float = float("nan")  # CPU seconds of the PostgreSQL backends serving them
    commits: float = float("nan")  # PostgreSQL transactions committed in the database

    def per_run_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.count

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("nan")


async def wait_until(
    condition: Any, timeout: float, children: list[processes.Child], what: str
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await condition():
                return
        except (OSError, asyncpg.PostgresError, SQLAlchemyError) as error:
            # The server restarting (other work on the machine) is survivable: ask again.
            print(f"bench: while waiting for {what}: {type(error).__name__}: {error}")
        for child in children:
            if not child.alive():
                raise RuntimeError(
                    f"{child.name} exited while waiting for {what}:\n{child.output()}"
                )
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.05)


async def scalar(db: Database, query: Any) -> Any:
    async with db.session() as session:
        return await session.scalar(query)


async def start_dts_workers(
    db: Database, count: int, concurrency: int, **env: str
) -> list[processes.Child]:
    """`count` dts workers, returned once every one has registered and settled."""
    workers = processes.start_workers(db.url, count, DTS_WORKER_CONCURRENCY=str(concurrency), **env)
    try:
        live = select(func.count()).select_from(Worker).where(Worker.stopped_at.is_(None))

        async def registered() -> bool:
            return (await scalar(db, live)) == count

        await wait_until(registered, 60, workers, "workers to register")
        await asyncio.sleep(0.5)  # LISTEN connections and the first tick
    except BaseException:
        await processes.stop_children(workers)
        raise
    return workers


async def add_http_jobs(
    db: Database, url: str, count: int, owner_id: int | None = None, **job: Any
) -> tuple[int, list[int]]:
    """`count` HTTP jobs that never fall due by themselves; returns (owner id, job ids)."""
    if owner_id is None:
        owner_id = (await add_user(db)).user_id
    now = datetime.now(UTC)
    template = job_row(owner_id, name="t", url=url, cron="0 0 1 1 *", now=now, **job)
    return owner_id, await insert_jobs(db, copies(template, count, "t"))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


class Meters:
    """CPU of the clients (workers) and of the database backends; commits in the database.

    Backends come and go while a pool opens and closes connections, so they are sampled
    every 100 ms; a backend that exits loses at most its last 100 ms of CPU.
    """

    SAMPLE_EVERY = 0.1

    def __init__(self, dsn: str | None) -> None:
        self.dsn = _asyncpg_dsn(dsn) if dsn else None
        self.clients = processes.CpuMeter()
        self._db_start: dict[int, float] = {}
        self._db_latest: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None

    async def _backends(self) -> dict[int, float]:
        assert self._conn is not None
        rows = await self._conn.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row["pid"]: processes.cpu_seconds(row["pid"]) for row in rows}

    async def _track(self) -> None:
        while True:
            for pid, cpu in (await self._backends()).items():
                if cpu:
                    self._db_latest[pid] = cpu
            await asyncio.sleep(self.SAMPLE_EVERY)

    async def _commits(self) -> int:
        assert self._conn is not None
        await self._conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(
            await self._conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        )

    async def start(self, pids: list[int]) -> None:
        self.clients.start(pids)
        if self.dsn:
            self._conn = await asyncpg.connect(self.dsn)
            self._db_start = await self._backends()
            self._db_latest = dict(self._db_start)
            self._commits_before = await self._commits()
            self._task = asyncio.create_task(self._track())

    async def stop(self, pids: list[int], result: Drained) -> None:
        result.client_cpu = self.clients.stop(pids)
        if not self.dsn or self._conn is None:
            return
        try:
            await self._stop_tracking()
            self._db_latest.update(await self._backends())
            result.db_cpu = sum(
                cpu - self._db_start.get(pid, 0.0) for pid, cpu in self._db_latest.items()
            )
            await asyncio.sleep(1.0)  # backends report their counters when idle (≤ 1 s)
            result.commits = await self._commits() - self._commits_before
        finally:
            await self.close()

    async def _stop_tracking(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def close(self) -> None:
        """Stop sampling and disconnect (idempotent; for error paths)."""
        await self._stop_tracking()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


async def drain_dts(
    db: Database,
    url: str,
    total: int,
    workers: int,
    concurrency: int,
) -> Drained:
    """Queue `total` HTTP runs at once for running workers; time until all are finished."""
    owner_id, job_ids = await add_http_jobs(db, url, total, max_attempts=1)
    children = await start_dts_workers(db, workers, concurrency)
    meters = Meters(db.url if db.is_postgres else None)
    result = Drained(total, float("nan"))
    try:
        await meters.start([c.pid for c in children])
        now = datetime.now(UTC)
        await insert_runs(db, run_rows(job_ids, owner_id, now, now))
        queued = time.time()
        finished = select(func.count()).select_from(Run).where(Run.status.in_(FINAL))

        async def drained() -> bool:
            return (await scalar(db, finished)) >= total

        await wait_until(drained, total / 20 + 60, children, "the queue to drain")
        last = await scalar(db, select(func.max(Run.finished_at)))
        await meters.stop([c.pid for c in children], result)
    finally:
        await meters.close()
        await processes.stop_children(children)
    result.seconds = last.timestamp() - queued
    result.recorded = await _recorded(db)
    result.detail = await _statuses(db)
    return result


async def _recorded(db: Database) -> int:
    logged = select(RunLog.run_id).where(RunLog.run_id == Run.id).exists()
    announced = (
        select(Event.id).where(Event.run_id == Run.id, Event.kind == "run.finished").exists()
    )
    query = (
        select(func.count())
        .select_from(Run)
        .where(
            Run.status == "succeeded",
            Run.started_at.is_not(None),
            Run.finished_at.is_not(None),
            Run.http_status == 200,
            Run.log_lines >= 1,
            logged,
            announced,
        )
    )
    return int(await scalar(db, query) or 0)


async def _statuses(db: Database) -> str:
    async with db.session() as session:
        rows = await session.execute(select(Run.status, func.count()).group_by(Run.status))
        return ", ".join(f"{status} {n}" for status, n in sorted(rows.all()))


# --- Procrastinate -----------------------------------------------------------------------


def _procrastinate_env(name: str, url: str) -> dict[str, str]:
    env = os.environ.copy()
    env["BENCH_PG_DSN"] = pg_url(name, driver="postgresql")
    env["BENCH_TARGET_URL"] = url
    return env


SCRIPT = "bench/reference/procrastinate_ref.py"


class Procrastinate:
    """A fresh database with Procrastinate's schema, and its worker processes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.python = str(reference_python())
        self.workers: list[processes.Child] = []
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> Procrastinate:
        self._db = fresh_postgres()
        self.name = await self._db.__aenter__()
        self.env = _procrastinate_env(self.name, self.url)
        self.dsn = pg_url(self.name, driver="postgresql")
        try:
            await self.run("schema")
        except BaseException:
            await self._db.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await processes.stop_children(self.workers)
        if self._conn is not None:
            await self._conn.close()
        await self._db.__aexit__(*exc)

    async def run(self, *args: str) -> str:
        child = processes.Child(
            "procrastinate-" + args[0], [self.python, SCRIPT, *args], env=self.env, capture=True
        )
        try:
            out, _ = await asyncio.to_thread(child.proc.communicate, timeout=600)
            if child.proc.returncode != 0:
                raise RuntimeError(f"procrastinate {args[0]} failed:\n{child.output()}")
            return out
        finally:
            await child.astop()

    async def query(self, sql: str) -> Any:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn)
        return await self._conn.fetchval(sql)

    async def start_workers(self, count: int, concurrency: int) -> None:
        self.workers = [
            processes.Child(
                f"procrastinate-worker{i}",
                [self.python, SCRIPT, "worker", str(concurrency)],
                env=self.env,
            )
            for i in range(count)
        ]

        async def registered() -> bool:
            return (await self.query("SELECT count(*) FROM procrastinate_workers")) == count

        await wait_until(registered, 60, self.workers, "Procrastinate workers to register")
        await asyncio.sleep(0.5)

    async def stop_workers(self) -> None:
        await processes.stop_children(self.workers)
        self.workers = []


async def drain_procrastinate(url: str, total: int, workers: int, concurrency: int) -> Drained:
    async with Procrastinate(url) as ref:
        await ref.start_workers(workers, concurrency)
        meters = Meters(ref.dsn)
        pids = [w.pid for w in ref.workers]
        try:
            await meters.start(pids)
            committed = json.loads((await ref.run("defer", str(total))).strip())["committed"]
            done = "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('succeeded', 'failed')"

            async def drained() -> bool:
                return (await ref.query(done)) >= total

            await wait_until(drained, total / 20 + 60, ref.workers, "Procrastinate to drain")
            last = await ref.query(
                "SELECT max(at) FROM procrastinate_events WHERE type IN ('succeeded', 'failed')"
            )
            ok = await ref.query(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
            )
            result = Drained(total, last.timestamp() - committed, ok, f"succeeded {ok}")
            await meters.stop(pids, result)
        finally:
            await meters.close()
        await ref.stop_workers()
    return result


# --- raw client loops ----------------------------------------------------------------------


async def drain_clients(
    kind: str,
    url: str,
    total: int,
    count: int,
    concurrency: int,
    *,
    with_sniffio: bool = False,
) -> Drained:
    """`count` processes of the raw client loop, started together, `total` GETs in all."""
    python = str(reference_python()) if kind == "aiohttp" else processes.MAIN_PYTHON
    env = os.environ.copy()
    if with_sniffio:
        env["PYTHONPATH"] = str(sniffio_path())
    shares = [total // count + (1 if i < total % count else 0) for i in range(count)]
    children = [
        processes.Child(
            f"client-{kind}{i}",
            [python, "bench/reference/clients.py", kind, url, str(share), str(concurrency)],
            env=env,
            stdin=True,
            capture=True,
        )
        for i, share in enumerate(shares)
    ]
    try:
        for child in children:
            line = await asyncio.to_thread(child.proc.stdout.readline)  # type: ignore[union-attr]
            if line.strip() != "ready":
                raise RuntimeError(f"{child.name} did not start:\n{line}{child.output()}")
        for child in children:
            child.proc.stdin.write("go\n")  # type: ignore[union-attr]
            child.proc.stdin.flush()  # type: ignore[union-attr]
        results = []
        for child in children:
            line = await asyncio.to_thread(child.proc.stdout.readline)  # type: ignore[union-attr]
            results.append(json.loads(line))
    finally:
        await processes.stop_children(children)
    start = min(r["start"] for r in results)
    end = max(r["end"] for r in results)
    ok = sum(r["ok"] for r in results)
    result = Drained(total, end - start, ok, f"ok {ok}")
    result.client_cpu = sum(r["cpu"] for r in results)
    return result


__all__ = ["Drained", "drain_clients", "drain_dts", "drain_procrastinate"]
