"""Latency: start lag of many jobs due in the same second, and trigger → started.

Start lag: `--due` (1,000) HTTP jobs whose cron (`S M H * * *`, with seconds) falls on the
same second T a few seconds ahead, with the workers already running: 2 on PostgreSQL,
1 on SQLite. Lag = started_at − scheduled_for, over all runs. With 16 runs in flight per
worker, the last runs wait for free slots, so the lag is bound by throughput; the same
measurement with `--lag-concurrency` (500) slots per worker shows the scheduler's own
part. Reference in the same run: the same number of runs already queued for T (no tick
involved), started by the same workers.

Trigger latency (PostgreSQL, 2 workers): `RunService.trigger_job` called `--triggers`
times, one at a time; for each, started_at − queued_at as recorded, and the wall time
from the call to the `running` status seen by polling the row every millisecond.
The same through a live `dts api`: the `triggerJob` mutation over HTTP, answered and
running seen, and the API process's CPU per mutation (noise-proof, unlike wall time).
Reference: Procrastinate 3 (2 workers × 16), defer → `doing` seen by the same 1 ms poll,
and started − deferred from its events table. `--only trigger` skips the start-lag part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from sqlalchemy import func, select

from app.db.models import Run
from app.services.runs import RunService
from bench import processes, report
from bench.databases import fresh_database
from bench.drain import FINAL, Procrastinate, add_http_jobs, scalar, start_dts_workers, wait_until
from bench.fixtures import add_user, copies, insert_jobs, insert_runs, job_row, run_rows
from bench.processes import start_target

LEAD = 3.0  # seconds between inserting the jobs and their due time


def _cron_at(when: datetime) -> str:
    return f"{when.second} {when.minute} {when.hour} * * *"


async def _start_lag(
    engine: str, url: str, due: int, workers: int, concurrency: int, prequeued: bool
) -> list[float]:
    async with fresh_database(engine) as db:
        owner = await add_user(db)
        children = await start_dts_workers(db, workers, concurrency)
        try:
            at = (datetime.now(UTC) + timedelta(seconds=LEAD)).replace(microsecond=0)
            if prequeued:
                _, ids = await add_http_jobs(db, url, due, owner.user_id, max_attempts=1)
                rows = run_rows(ids, owner.user_id, at, datetime.now(UTC))
                await insert_runs(db, rows)
            else:
                template = job_row(
                    owner.user_id,
                    name="due",
                    url=url,
                    cron=_cron_at(at),
                    now=datetime.now(UTC),
                    max_attempts=1,
                )
                assert template["next_run_at"] == at
                await insert_jobs(db, copies(template, due, "due"))
            finished = select(func.count()).select_from(Run).where(Run.status.in_(FINAL))

            async def done() -> bool:
                return (await scalar(db, finished)) >= due

            await wait_until(done, LEAD + due / 20 + 60, children, "the due runs to finish")
        finally:
            await processes.stop_children(children)
        async with db.session() as session:
            rows = (await session.execute(select(Run.run_after, Run.started_at))).all()
        return [(started - after).total_seconds() for after, started in rows]


async def _poll_started(conn: asyncpg.Connection, run_id: int, started: float) -> float | None:
    deadline = started + 10
    while time.perf_counter() < deadline:
        status = await conn.fetchval("SELECT status FROM runs WHERE id = $1", run_id)
        if status != "queued":
            return time.perf_counter() - started
        await asyncio.sleep(0.001)
    return None


async def _trigger_latency(url: str, count: int, workers: int) -> dict[str, list[float]]:
    async with fresh_database("postgres") as db:
        owner = await add_user(db, "trigger@example.com")
        _, (job_id,) = await add_http_jobs(db, url, 1, owner.user_id, max_attempts=1)
        children = await start_dts_workers(db, workers, 16)
        service = RunService(db)
        observer = await asyncpg.connect(db.url.replace("postgresql+asyncpg", "postgresql"))
        calls: list[float] = []
        seen: list[float] = []
        try:
            for _ in range(3):  # warm the service's connections and statement caches
                await service.trigger_job(owner, job_id)
            await asyncio.sleep(0.5)
            for _ in range(count):
                started = time.perf_counter()
                run = await service.trigger_job(owner, job_id)
                calls.append(time.perf_counter() - started)
                wall = await _poll_started(observer, run.id, started)
                if wall is not None:
                    seen.append(wall)
                await asyncio.sleep(0.02)
        finally:
            await observer.close()
            await processes.stop_children(children)
        async with db.session() as session:
            rows = (
                await session.execute(
                    select(Run.queued_at, Run.started_at)
                    .where(Run.trigger == "manual")
                    .order_by(Run.id)
                    .offset(3)
                )
            ).all()
        recorded = [(s - q).total_seconds() for q, s in rows if s is not None]
        return {"call": calls, "seen": seen, "recorded": recorded, "missing": [count - len(seen)]}


TRIGGER = "mutation T($id: ID!) { triggerJob(id: $id) { id status } }"
PASSWORD = "bench-password-1234"


async def _api_server(database_url: str) -> tuple[processes.Child, str]:
    """A live `dts api` on a loopback port, answering /api/health."""
    port = processes.free_port()
    env = processes.dts_env(database_url, DTS_JWT_SECRET="bench-secret-" + "x" * 32)
    child = processes.Child(
        "api",
        [processes.MAIN_PYTHON, "-m", "app", "api", "--no-migrate", "--port", str(port)],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(trust_env=False) as client:

            async def healthy() -> bool:
                try:
                    return (await client.get(f"{base}/api/health", timeout=1)).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(healthy, 60, [child], "dts api to answer")
    except BaseException:
        await child.astop()
        raise
    return child, base


async def _graphql_trigger_latency(url: str, count: int, workers: int) -> dict[str, list[float]]:
    """The `triggerJob` mutation over HTTP against a live `dts api`, 2 workers running."""
    from app.services.users import create_user

    async with fresh_database("postgres") as db:
        user = await create_user(db, "graphql@example.com", PASSWORD, role="admin")
        _, (job_id,) = await add_http_jobs(db, url, 1, user.id, max_attempts=1)
        api, base = await _api_server(db.url)
        children = await start_dts_workers(db, workers, 16)
        observer = await asyncpg.connect(db.url.replace("postgresql+asyncpg", "postgresql"))
        calls: list[float] = []
        seen: list[float] = []
        try:
            async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as client:
                login = await client.post(
                    "/graphql",
                    json={
                        "query": "mutation L($e: String!, $p: String!) "
                        "{ login(email: $e, password: $p) { accessToken } }",
                        "variables": {"e": "graphql@example.com", "p": PASSWORD},
                    },
                )
                token = login.json()["data"]["login"]["accessToken"]
                headers = {"Authorization": f"Bearer {token}"}
                body = {"query": TRIGGER, "variables": {"id": str(job_id)}}
                meter = processes.CpuMeter()
                for index in range(count + 3):  # 3 warm-up calls
                    if index == 3:
                        meter.start([api.pid])
                    started = time.perf_counter()
                    answer = await client.post("/graphql", json=body, headers=headers)
                    call = time.perf_counter() - started
                    payload = answer.json()
                    if payload.get("errors"):
                        raise RuntimeError(f"triggerJob failed: {payload['errors']}")
                    run_id = int(payload["data"]["triggerJob"]["id"])
                    wall = await _poll_started(observer, run_id, started)
                    if index >= 3:
                        calls.append(call)
                        if wall is not None:
                            seen.append(wall)
                    await asyncio.sleep(0.02)
                api_cpu = meter.stop([api.pid]) / max(count, 1)
        finally:
            await observer.close()
            await processes.stop_children([*children, api])
        return {"call": calls, "seen": seen, "missing": [count - len(seen)], "api_cpu": [api_cpu]}


def _graphql_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("app.graphql.app") is not None


async def _procrastinate_latency(url: str, count: int, workers: int) -> dict[str, list[float]]:
    async with Procrastinate(url) as ref:
        await ref.start_workers(workers, 16)
        samples = json.loads(await ref.run("latency", str(count)))
        conn = await asyncpg.connect(ref.dsn)
        try:
            rows = await conn.fetch(
                "SELECT d.at AS deferred, s.at AS started FROM procrastinate_events d "
                "JOIN procrastinate_events s ON s.job_id = d.job_id AND s.type = 'started' "
                "WHERE d.type = 'deferred'"
            )
        finally:
            await conn.close()
        await ref.stop_workers()
    seen = [s["seen"] for s in samples if s["seen"] is not None]
    recorded = [(r["started"] - r["deferred"]).total_seconds() for r in rows]
    return {"seen": seen, "recorded": recorded, "missing": [count - len(seen)]}


def _pcts(values: list[float]) -> list[str]:
    return [report.ms(report.percentile(values, p)) for p in (50, 95, 99)] + [
        report.ms(max(values)) if values else "–"
    ]


async def _lag_rows(args: argparse.Namespace, url: str) -> list[list[str]]:
    rows = []
    for engine in args.engines:
        workers = 2 if engine == "postgres" else 1
        for concurrency in (16, args.lag_concurrency):
            for prequeued in (False, True):
                lags = await _start_lag(engine, url, args.due, workers, concurrency, prequeued)
                what = "runs already queued (reference)" if prequeued else "cron jobs due"
                p99 = report.percentile(lags, 99)
                rows.append(
                    [
                        engine,
                        f"{workers} × {concurrency}",
                        what,
                        *_pcts(lags),
                        report.verdict(p99 <= 0.25) if not prequeued else "–",
                    ]
                )
    return rows


def _lag_table(rows: list[list[str]], due: int) -> None:
    report.show(
        f"Start lag, {due:,} due in the same second (scheduled_for → started_at; "
        "target p99 ≤ 250 ms)",
        ["engine", "workers × slots", "what", "p50", "p95", "p99", "max", "target"],
        rows,
    )


async def main(args: argparse.Namespace) -> None:
    due = args.due
    only = getattr(args, "only", None)
    parts = [
        f"start lag of {due:,} jobs due in the same second" if only != "trigger" else "",
        f"trigger → started over {args.triggers} triggers" if only != "lag" else "",
    ]
    report.note(f"\n## latency — {'; '.join(p for p in parts if p)}")
    target = await start_target()
    try:
        if only != "trigger":
            _lag_table(await _lag_rows(args, target.url), due)
        if "postgres" not in args.engines or only == "lag":
            return
        ours = await _trigger_latency(target.url, args.triggers, 2)
        graphql = None
        if _graphql_available():
            graphql = await _graphql_trigger_latency(target.url, args.triggers, 2)
        ref = None
        if not args.no_procrastinate:
            ref = await _procrastinate_latency(target.url, args.triggers, 2)
    finally:
        await target.stop()

    def line(system: str, what: str, values: list[float], target: bool = False) -> list[str]:
        p50, p99 = report.percentile(values, 50), report.percentile(values, 99)
        return [
            system,
            what,
            report.ms(p50),
            report.ms(p99),
            report.ratio(p99, ref_p99) if ref else "–",
            report.verdict(p99 <= 0.025) if target else "–",
        ]

    ref_p99 = report.percentile(ref["seen"], 99) if ref else float("nan")
    rows = [
        line("dts", "RunService.trigger_job() returns", ours["call"]),
        line("dts", "started_at − queued_at (recorded)", ours["recorded"]),
        line("dts", "trigger_job() → running seen (1 ms poll)", ours["seen"]),
    ]
    if graphql:
        rows += [
            line("dts", "GraphQL triggerJob answered (HTTP)", graphql["call"]),
            line("dts", "GraphQL triggerJob → running seen", graphql["seen"], target=True),
        ]
    if ref:
        rows += [
            line("Procrastinate", "started − deferred (events table)", ref["recorded"]),
            line("Procrastinate", "defer → doing seen (1 ms poll)", ref["seen"]),
        ]
    report.show(
        f"Trigger → started, PostgreSQL, 2 workers, {args.triggers} triggers one at a time "
        "(target p99 ≤ 25 ms; ratio: p99 against Procrastinate's defer → doing seen)",
        ["system", "what", "p50", "p99", "p99 vs Procrastinate", "target"],
        rows,
    )
    if graphql:
        report.note(
            f"dts api process CPU per triggerJob: {report.ms(graphql['api_cpu'][0])} "
            "(the request, and the change-feed reads its run's events cause)"
        )
    else:
        report.note("(no /graphql in this build: the mutation was not measured)")
    if ours["missing"][0] or (ref and ref["missing"][0]):
        report.note(
            f"not seen starting within 10 s: dts {ours['missing'][0]}, "
            f"Procrastinate {ref['missing'][0] if ref else '–'}"
        )
