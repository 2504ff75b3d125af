"""Procrastinate as the reference job queue: the same HTTP GET as a task.

Runs in the reference virtualenv (bench/.venv-ref). The database is given by
BENCH_PG_DSN (a psycopg conninfo), the target by BENCH_TARGET_URL.

    python bench/reference/procrastinate_ref.py schema
    python bench/reference/procrastinate_ref.py worker CONCURRENCY
    python bench/reference/procrastinate_ref.py defer N [URL]  # prints {"committed": t}
    python bench/reference/procrastinate_ref.py latency N    # defer one, wait for it to start
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import httpx
import procrastinate

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=os.environ["BENCH_PG_DSN"])
)
_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    global _client
    if _client is None:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        _client = httpx.AsyncClient(limits=limits, trust_env=False, timeout=60)
    return _client


@app.task(name="ping")
async def ping(url: str) -> int:
    response = await client().get(url)
    response.raise_for_status()
    return response.status_code


async def schema() -> None:
    async with app.open_async():
        await app.schema_manager.apply_schema_async()


async def worker(concurrency: int) -> None:
    async with app.open_async():
        await app.run_worker_async(
            concurrency=concurrency, listen_notify=True, install_signal_handlers=True
        )


async def defer(count: int, url: str) -> None:
    async with app.open_async():
        await ping.batch_defer_async(*({"url": url} for _ in range(count)))
        print(json.dumps({"committed": time.time()}), flush=True)


async def latency(count: int) -> None:
    """Defer jobs one at a time; for each, poll (every 1 ms) until a worker started it."""
    url = os.environ["BENCH_TARGET_URL"]
    samples = []
    async with app.open_async():
        connector = app.connector
        for _ in range(count):
            started = time.perf_counter()
            job_id = await ping.defer_async(url=url)
            seen = None
            deadline = started + 10
            while time.perf_counter() < deadline:
                row = await connector.execute_query_one_async(
                    "SELECT status FROM procrastinate_jobs WHERE id = %(id)s", id=job_id
                )
                if row["status"] != "todo":
                    seen = time.perf_counter() - started
                    break
                await asyncio.sleep(0.001)
            samples.append({"id": job_id, "seen": seen})
            await asyncio.sleep(0.02)
    print(json.dumps(samples), flush=True)


if __name__ == "__main__":
    command = sys.argv[1]
    target = os.environ["BENCH_TARGET_URL"]
    if command == "schema":
        asyncio.run(schema())
    elif command == "worker":
        asyncio.run(worker(int(sys.argv[2])))
    elif command == "defer":
        asyncio.run(defer(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else target))
    elif command == "latency":
        asyncio.run(latency(int(sys.argv[2])))
    else:
        raise SystemExit(f"unknown command {command!r}")
