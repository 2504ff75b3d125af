"""Limits on what one GraphQL request may make the server do, against a live `dts up`.

Each was an attack that worked: 2 aliases × 2,000 zones blocked the event loop for 80 s
(and delayed scheduled runs by 17 s); a 1 MiB cron expression blocked it for 2.7 s.
"""

from __future__ import annotations

import asyncio
import time
from zoneinfo import available_timezones

import pytest

from tests.gql_client import GQL, GraphQLError
from tests.graphql.conftest import sign_up
from tests.live import LiveServer

ZONES = sorted(available_timezones())
TWO_PREVIEWS = """query($zones: [String!], $count: Int!, $cron: String!) {
  a: previewSchedule(cron: $cron, count: $count, zones: $zones) { occurrences { utc } }
  b: previewSchedule(cron: $cron, count: $count, zones: $zones) { occurrences { utc } }
}"""
CREATE = """mutation($input: JobInput!) { createJob(input: $input) { id } }"""
NEXT_RUNS = """query($zones: [String!], $count: Int!) {
  jobs(first: 200) { edges { node { id nextRuns(count: $count, zones: $zones) { utc } } } }
}"""


async def test_two_aliases_with_two_thousand_zones_are_refused_at_once(anon: GQL) -> None:
    started = time.perf_counter()
    body = await anon.raw(TWO_PREVIEWS, zones=(ZONES * 5)[:2000], count=1000, cron="* * * * *")
    assert time.perf_counter() - started < 5  # it took 80 s of blocked event loop
    assert body["data"] is None
    assert body["errors"]  # previewSchedule is non-null: the first error ends the operation
    for error in body["errors"]:
        assert error["extensions"] == {"code": "validation_error", "field": "zones"}
        assert error["message"] == "at most 10 extra zones, got 2000"


async def test_job_next_runs_caps_zones_too(server: LiveServer) -> None:
    client = await sign_up(server, "ada@example.com")
    job = {"type": "HTTP", "name": "ping", "schedule": {"cron": "@hourly"}}
    await client(CREATE, input={**job, "http": {"url": "https://example.com/"}})
    body = await client.raw(NEXT_RUNS, zones=ZONES[:11], count=5)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "validation_error", "field": "zones"}
    assert error["message"] == "at most 10 extra zones, got 11"
    unknown = await client.raw(NEXT_RUNS, zones=["UTC", "Mars/Olympus"], count=5)
    assert unknown["errors"][0]["extensions"]["field"] == "zones[1]"
    fine = await client(NEXT_RUNS, zones=ZONES[:10], count=5)
    [edge] = fine["jobs"]["edges"]
    assert len(edge["node"]["nextRuns"]) == 5
    await client.close()


async def test_a_huge_cron_expression_is_refused_before_parsing(anon: GQL) -> None:
    huge = ",".join(["1"] * 500_000) + " * * * *"  # just under the 1 MiB body cap
    started = time.perf_counter()
    body = await anon.raw(
        "query($cron: String!) { previewSchedule(cron: $cron) { description } }", cron=huge
    )
    assert time.perf_counter() - started < 2  # parsing it blocked the loop 2.7 s
    [error] = body["errors"]
    assert error["extensions"] == {"code": "validation_error", "field": "cron"}
    assert error["message"].startswith("cron expression is 1,000,007 characters long; at most")


async def test_one_operation_may_ask_for_one_full_preview_in_all(anon: GQL) -> None:
    full = await anon.raw(TWO_PREVIEWS, zones=ZONES[:4], count=1000, cron="*/5 * * * *")
    # 2 × 1,000 occurrences × (1 + 4 zones) = 10,000 rows: within the 11,000 of one request
    assert "errors" not in full and len(full["data"]["b"]["occurrences"]) == 1000
    over = await anon.raw(TWO_PREVIEWS, zones=ZONES[:10], count=1000, cron="*/5 * * * *")
    # the first alias costs the whole 11,000; the second is refused, not computed (and as
    # previewSchedule is non-null, the refusal takes the whole answer with it)
    assert over["data"] is None
    [error] = over["errors"]
    assert error["path"] == ["b"]
    assert error["extensions"] == {"code": "validation_error", "field": "count"}
    assert "more than 11,000 preview rows in total" in error["message"]
    # the budget is per request: the next one starts afresh
    again = await anon.raw(TWO_PREVIEWS, zones=[], count=1000, cron="*/5 * * * *")
    assert "errors" not in again


async def test_next_runs_over_a_page_of_jobs_share_the_budget(server: LiveServer) -> None:
    client = await sign_up(server, "ada@example.com")
    job = {"type": "HTTP", "schedule": {"cron": "*/5 * * * *"}}
    for n in range(12):
        http = {"url": f"https://example.com/{n}"}
        await client(CREATE, input={**job, "name": f"job {n}", "http": http})
    # 12 jobs × 100 occurrences × (1 + 9 zones) = 12,000 rows: the last job is over 11,000
    body = await client.raw(NEXT_RUNS, zones=ZONES[:9], count=100)
    refused = [e for e in body["errors"] if e["extensions"]["field"] == "count"]
    assert len(refused) == 1 and "preview rows in total" in refused[0]["message"]
    fewer = await client(NEXT_RUNS, zones=ZONES[:9], count=90)  # 12 × 90 × 10 = 10,800
    assert [len(e["node"]["nextRuns"]) for e in fewer["jobs"]["edges"]] == [90] * 12
    await client.close()


async def test_heavy_previews_leave_the_event_loop_free(server: LiveServer) -> None:
    """While previews are computed, the same process answers other requests promptly.

    Each preview below is about half a second of CPU on an idle machine (29 February is
    rare: a thousand of them span four millennia of search, each shown in 10 zones), with a
    small answer. Computed on the event loop, four at once held every other request (and
    the scheduler's tick) until they were all done; on the preview threads the loop only
    builds the answers. Compared as a ratio, so a busy machine does not change the verdict.
    """
    heavy = """query($zones: [String!]) { previewSchedule(cron: "0 0 29 2 *", count: 1000,
      zones: $zones) { occurrences { utc } } }"""
    clients = [GQL(server.url) for _ in range(4)]
    probe = GQL(server.url)
    await probe("{ signupOpen }")  # connected and warm
    waits: list[float] = []
    try:
        started = time.perf_counter()
        previews = [asyncio.create_task(c.raw(heavy, zones=ZONES[:10])) for c in clients]
        await asyncio.sleep(0.05)
        while not all(task.done() for task in previews):
            asked = time.perf_counter()
            assert (await probe("{ signupOpen }"))["signupOpen"] in (True, False)
            waits.append(time.perf_counter() - asked)
            await asyncio.sleep(0.02)
        took = time.perf_counter() - started
        for task in previews:
            body = task.result()
            assert "errors" not in body
            assert len(body["data"]["previewSchedule"]["occurrences"]) == 1000
    finally:
        for c in [*clients, probe]:
            await c.close()
    assert len(waits) >= 3, f"only {len(waits)} probes in {took:.2f} s of previews"
    # measured: at most 4% of the time with the previews off the loop, 29% on it
    assert max(waits) < 0.1 * took, (
        f"a request waited {max(waits):.2f} s behind {took:.2f} s of previews"
    )


async def test_each_subscription_event_has_a_budget_of_its_own(server: LiveServer) -> None:
    client = await sign_up(server, "ada@example.com")
    runs = "nextRuns(count: 100, zones: $zones) { utc }"
    aliases = " ".join(f"n{i}: {runs}" for i in range(1, 13))  # 12 × 100 × (1 + 9) rows
    query = f"""subscription($after: ID, $zones: [String!]) {{
      jobEvents(afterEventId: $after) {{ kind job {{ {aliases} }} }} }}"""
    position = (await client("{ feedPosition }"))["feedPosition"]
    job = {"type": "HTTP", "schedule": {"cron": "*/5 * * * *"}}
    async with client.subscribe(query, after=position, zones=ZONES[:9]) as events:
        for n in range(2):
            http = {"url": f"https://example.com/{n}"}
            await client(CREATE, input={**job, "name": f"job {n}", "http": http})
        refused = []
        for _ in range(2):
            with pytest.raises(GraphQLError) as caught:
                await events.next()
            refused.append([e["path"][-1] for e in caught.value.errors])
    # in each event the first 11 aliases fit in 11,000 rows and the 12th does not; had the
    # budget carried over, the second event's first alias would have been refused
    assert refused == [["n12"], ["n12"]]
    await client.close()
