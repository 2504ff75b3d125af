"""A page of 100 jobs with their last runs, owners and stats, or of 50 monitors with their
pings, costs a constant number of queries."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select
from starlette.requests import Request

from app.context import Services
from app.db.models import MonitorPing
from app.graphql.context import Context
from app.graphql.schema import schema
from app.services.monitors import MonitorService
from tests.factories import PASSWORD, add_user, http_job
from worker.claims import claim_runs
from worker.tick import tick

PAGE = """query($first: Int!) { jobs(first: $first) { edges { node {
  id name schedule { description } owner { email }
  lastRun { id status durationMs }
  stats { total succeeded successRate recent { status durationSeconds } }
} } pageInfo { hasNextPage endCursor } } }"""


def request_with(token: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "query_string": b"",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 4000),
            "scheme": "http",
        }
    )


async def count_queries(
    services: Services, token: str, first: int, query: str = PAGE
) -> tuple[int, dict]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        context = Context(services=services, request=request_with(token))
        result = await schema.execute(
            query, variable_values={"first": first}, context_value=context
        )
    finally:
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", record)
    assert result.errors is None and result.data is not None, result.errors
    return len(statements), result.data


async def test_job_page_query_count_does_not_grow_with_the_page(db, settings, clock) -> None:
    clock.set(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    services = Services.build(settings, db, clock=clock.now)
    owner = await add_user(db, "ada@example.com")
    for index in range(100):
        await services.jobs.create_job(owner, http_job(name=f"job-{index}", cron="* * * * *"))
    await tick(db, clock.advance(minutes=1, seconds=1))
    await claim_runs(db, "w1", 1000, clock.now(), 30)  # every job has a last run, running
    token = (await services.auth.login("ada@example.com", PASSWORD)).access_token

    small, data_small = await count_queries(services, token, 2)
    large, data_large = await count_queries(services, token, 100)
    assert len(data_large["jobs"]["edges"]) == 100
    assert all(e["node"]["lastRun"]["status"] == "RUNNING" for e in data_large["jobs"]["edges"])
    assert data_small["jobs"]["pageInfo"]["hasNextPage"] is True
    assert large == small, f"{small} queries for 2 jobs but {large} for 100"
    assert large <= 20  # a fixed handful: auth, page, owners, last runs, counts, recent


MONITORS = """query($first: Int!) { monitors(first: $first) { edges { node {
  id name owner { email }
  pings(first: 2) { id kind }
  all: pings(first: 100) { id }
} } } }"""


async def test_monitor_page_with_pings_costs_a_fixed_number_of_queries(db, settings, clock) -> None:
    clock.set(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    services = Services.build(settings, db, clock=clock.now)
    owner = await add_user(db, "ada@example.com")
    monitors = MonitorService(db, clock=clock.now)
    ids = []
    for index in range(50):
        monitor = await monitors.create_monitor(owner, {"name": f"m{index}", "periodSeconds": 3600})
        ids.append(monitor.id)
    async with db.transaction() as session:  # monitor i has i % 4 pings (some have none)
        for index, monitor_id in enumerate(ids):
            for n in range(index % 4):
                kind = "start" if n % 2 else "success"
                session.add(MonitorPing(monitor_id=monitor_id, at=clock.now(), kind=kind))
    token = (await services.auth.login("ada@example.com", PASSWORD)).access_token

    small, _ = await count_queries(services, token, 2, MONITORS)
    large, data = await count_queries(services, token, 50, MONITORS)
    assert large == small, f"{small} queries for 2 monitors but {large} for 50"
    assert large <= 10  # auth, page, owners, one statement per distinct pings(first)
    nodes = {int(e["node"]["id"]): e["node"] for e in data["monitors"]["edges"]}
    assert sorted(nodes) == sorted(ids)
    async with db.session() as session:
        for index, monitor_id in enumerate(ids):
            newest = list(
                await session.scalars(
                    select(MonitorPing.id)
                    .where(MonitorPing.monitor_id == monitor_id)
                    .order_by(MonitorPing.id.desc())
                )
            )
            assert len(newest) == index % 4
            node = nodes[monitor_id]
            assert [int(p["id"]) for p in node["all"]] == newest
            assert [int(p["id"]) for p in node["pings"]] == newest[:2]
