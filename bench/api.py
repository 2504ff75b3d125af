"""The API under load: a page of jobs over GraphQL, and subscription fan-out.

1. `jobs(first: 50)` with schedule, next run, last run and stats over 10,000 jobs (each
   with a run), 20 concurrent clients for `--api-seconds`: requests/s and latency, beside
   the same process answering the smallest GraphQL query (`{ signupOpen }`) — the
   server's own ceiling for a GraphQL request — measured the same way in the same run.
2. 500 websocket subscribers (`runEvents` over graphql-transport-ws) on one `dts api`
   process: time from a run's status change (the `triggerJob` mutation returning) to each
   subscriber receiving it; p50/p99 over all deliveries and of the *last* subscriber per
   event. Reference: the same with one subscriber.
PostgreSQL only (the production engine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import websockets

from app.services.tokens import encode_access_token
from bench import report
from bench.databases import fresh_database
from bench.fixtures import add_user, copies, insert_jobs, insert_runs, job_row, run_rows
from bench.processes import MAIN_PYTHON, Child, dts_env, free_port

SECRET = "bench-secret-" + "x" * 40
PAGE = """query { jobs(first: 50) { edges { node {
  id name schedule { description } nextRunAt paused
  lastRun { id status durationMs } stats { successRate recent { status durationSeconds } }
} } pageInfo { hasNextPage endCursor } } }"""
TRIVIAL = "{ signupOpen }"
EVENTS = "subscription($after: ID) { runEvents(afterEventId: $after) { eventId runId status } }"


class Api:
    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # One account opens every subscriber from one address: lift the websocket caps
        # (DTS_WS_MAX_PER_USER / _PER_IP) that would refuse a real client doing that.
        env = dts_env(
            database_url,
            DTS_JWT_SECRET=SECRET,
            DTS_WS_MAX_PER_USER="10000",
            DTS_WS_MAX_PER_IP="10000",
        )
        self.child = Child(
            "api",
            [MAIN_PYTHON, "-m", "app", "api", "--no-migrate", "--port", str(self.port)],
            env=env,
        )

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient(trust_env=False) as client:
            for _ in range(300):
                if not self.child.alive():
                    raise RuntimeError(f"dts api exited:\n{self.child.output()}")
                try:
                    if (await client.get(self.url + "/api/health", timeout=1)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("dts api not healthy in 30 s")


async def _load(url: str, token: str, query: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, trust_env=False) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await http.post("/graphql", json={"query": query}, timeout=30)
                latencies.append(time.perf_counter() - started)
                body = response.json()
                assert response.status_code == 200 and not body.get("errors"), body

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


class Subscriber:
    def __init__(self, url: str, token: str, after: str) -> None:
        self.url, self.token, self.after = url, token, after
        self.received: dict[str, float] = {}  # run id -> perf_counter at receipt
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async with websockets.connect(
            self.url, subprotocols=["graphql-transport-ws"], max_queue=None
        ) as ws:
            init = {"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": EVENTS, "variables": {"after": self.after}},
                    }
                )
            )
            self.ready.set()
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif message.get("type") == "next":
                    event = message["payload"]["data"]["runEvents"]
                    self.received.setdefault(event["runId"], time.perf_counter())


async def _fan_out(
    api: Api, token: str, job_id: int, subscribers: int, events: int
) -> tuple[list[float], list[float]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api.url, headers=headers, trust_env=False) as http:
        position = (await http.post("/graphql", json={"query": "{ feedPosition }"})).json()
        after = position["data"]["feedPosition"]
        ws_url = api.url.replace("http", "ws", 1) + "/graphql"
        subs = [Subscriber(ws_url, token, after) for _ in range(subscribers)]
        for index in range(0, subscribers, 50):  # connect in waves
            batch = subs[index : index + 50]
            for sub in batch:
                sub.task = asyncio.create_task(sub.run())
            await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in batch)), 60)
        await asyncio.sleep(1)
        each: list[float] = []
        last: list[float] = []
        mutation = "mutation($id: ID!) { triggerJob(id: $id) { id } }"
        for _ in range(events):
            sent = time.perf_counter()
            reply = await http.post(
                "/graphql", json={"query": mutation, "variables": {"id": str(job_id)}}
            )
            run_id = reply.json()["data"]["triggerJob"]["id"]
            deadline = time.monotonic() + 30
            while any(run_id not in s.received for s in subs) and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            delays = [s.received[run_id] - sent for s in subs if run_id in s.received]
            assert len(delays) == subscribers, f"{subscribers - len(delays)} subscribers missed it"
            each += delays
            last.append(max(delays))
            await asyncio.sleep(0.2)
        for sub in subs:
            if sub.task:
                sub.task.cancel()
        await asyncio.gather(*(s.task for s in subs if s.task), return_exceptions=True)
    return each, last


async def main(args: argparse.Namespace) -> None:
    if "postgres" not in args.engines:
        report.note("api: PostgreSQL only; skipped")
        return
    async with fresh_database("postgres") as db:
        owner = await add_user(db)
        now = datetime.now(UTC)
        base = job_row(owner.user_id, name="job", url="http://127.0.0.1:9/", cron="*/5 * * * *")
        job_ids = await insert_jobs(db, copies(base, args.api_jobs, "job"))
        past = now - timedelta(minutes=5)
        await insert_runs(db, run_rows(job_ids, owner.user_id, past, past))
        token = encode_access_token(
            SECRET, user_id=owner.user_id, role="admin", now=now, lifetime=timedelta(hours=1)
        )
        api = Api(db.url)
        try:
            await api.wait_ready()
            await _load(api.url, token, PAGE, 4, 2)  # warm up
            rows = []
            rates = []
            for name, query in (
                ("jobs(first: 50) + last runs + stats", PAGE),
                ("{ signupOpen } (reference)", TRIVIAL),
            ):
                latencies = await _load(api.url, token, query, args.api_clients, args.api_seconds)
                rates.append(len(latencies) / args.api_seconds)
                rows.append(
                    [
                        name,
                        report.rate(rates[-1], " req/s"),
                        report.ms(report.percentile(latencies, 50)),
                        report.ms(report.percentile(latencies, 99)),
                    ]
                )
            report.show(
                f"GraphQL over {args.api_jobs:,} jobs, {args.api_clients} concurrent clients, "
                f"1 `dts api` process, {args.api_seconds:g} s each",
                ["query", "throughput", "p50", "p99"],
                [*rows, ["page / reference", report.ratio(rates[0], rates[1]), "", ""]],
            )
            fan = []
            for count in (1, args.subscribers):
                each, last = await _fan_out(api, token, job_ids[0], count, args.fanout_events)
                fan.append(
                    [
                        f"{count} subscriber(s)",
                        report.ms(report.percentile(each, 50)),
                        report.ms(report.percentile(each, 99)),
                        report.ms(report.percentile(last, 50)),
                        report.ms(report.percentile(last, 99)),
                    ]
                )
            report.show(
                f"Subscription fan-out: triggerJob returned → runEvents received, "
                f"{args.fanout_events} events",
                ["subscribers", "each p50", "each p99", "last p50", "last p99"],
                fan,
            )
        finally:
            await api.child.astop()
