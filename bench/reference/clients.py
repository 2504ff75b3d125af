"""A raw HTTP client loop: N GETs, C at a time, no scheduler — the client ceiling.

    python bench/reference/clients.py {httpx|aiohttp|executor|executor-aiohttp} URL N C

Prints "ready", waits for a line on stdin (so several processes start together), runs,
then prints one JSON line: {"start": t0, "end": t1, "ok": n, "cpu": seconds used}.
`executor` drives dts's own HttpExecutor (SSRF-guarded httpx client, headers, logging
callbacks) with a no-op log: the client side of a dts run without the database;
`executor-aiohttp` the same with AiohttpExecutor (`DTS_HTTP_CLIENT=aiohttp`). Both are
built by `make_http_executor` as the bench's workers build them (private targets allowed:
the target is on loopback; the guard's address check runs once per new connection, and
connections are pooled). `aiohttp` (the raw loop) needs the reference virtualenv
(bench/.venv-ref); the executors run in the main one.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

Get = Callable[[int], Awaitable[bool]]


async def _httpx(url: str, concurrency: int) -> tuple[Get, Callable[[], Awaitable[None]]]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.AsyncClient(limits=limits, trust_env=False)

    async def get(_i: int) -> bool:
        response = await client.get(url)
        return response.status_code == 200

    return get, client.aclose


async def _aiohttp(url: str, concurrency: int) -> tuple[Get, Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))

    async def get(_i: int) -> bool:
        async with session.get(url) as response:
            await response.read()
            return response.status == 200

    return get, session.close


async def _executor(
    url: str, concurrency: int, client: str = "httpx"
) -> tuple[Get, Callable[[], Awaitable[None]]]:
    from app.domain.job_spec import HttpSpec
    from worker.executors.base import ExecutionContext
    from worker.executors.factory import make_http_executor

    # As the worker builds it (DTS_HTTP_ALLOW_PRIVATE=true, as bench's workers run).
    executor = make_http_executor(
        client,  # type: ignore[arg-type]
        allow_private=True,
        max_connections=max(16, concurrency * 2),
    )
    spec = HttpSpec(method="GET", url=url)

    async def no_log(_stream: str, _text: str) -> None:
        return None

    async def get(i: int) -> bool:
        ctx = ExecutionContext(
            run_id=i, attempt=1, idempotency_key=f"dts-run-{i}", timeout_seconds=60, log=no_log
        )
        return (await executor.execute(spec, ctx)).succeeded

    return get, executor.aclose


async def _executor_aiohttp(
    url: str, concurrency: int
) -> tuple[Get, Callable[[], Awaitable[None]]]:
    return await _executor(url, concurrency, "aiohttp")


CLIENTS = {
    "httpx": _httpx,
    "aiohttp": _aiohttp,
    "executor": _executor,
    "executor-aiohttp": _executor_aiohttp,
}


async def main(kind: str, url: str, total: int, concurrency: int) -> None:
    get, close = await CLIENTS[kind](url, concurrency)
    await get(-1)  # one warm-up request: imports and the first connection
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    next_index = 0
    ok = 0

    async def loop() -> None:
        nonlocal next_index, ok
        while next_index < total:
            next_index += 1
            succeeded = await get(next_index)
            ok += succeeded

    start, cpu = time.time(), time.process_time()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    end, cpu = time.time(), time.process_time() - cpu
    await close()
    print(json.dumps({"start": start, "end": end, "ok": ok, "cpu": cpu}), flush=True)


if __name__ == "__main__":
    kind, url, total, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if kind not in CLIENTS:
        raise SystemExit(f"unknown client {kind!r}; expected one of {', '.join(CLIENTS)}")
    asyncio.run(main(kind, url, total, concurrency))
