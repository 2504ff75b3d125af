"""GraphQL over HTTP and websocket with a real client against a live `dts up`."""

from __future__ import annotations

import asyncio

import pytest

from tests.gql_client import GQL, GraphQLError
from tests.graphql.conftest import sign_up

CREATE = """mutation($input: JobInput!) { createJob(input: $input) {
  id name type schedule { cron timezone description } http { url headers { name value secret } }
  nextRuns(count: 3) { utc local note dstShifted }
} }"""
TRIGGER = "mutation($id: ID!) { triggerJob(id: $id) { id status attempt trigger } }"
RUN_EVENTS = """subscription($jobId: ID, $after: ID) {
  runEvents(jobId: $jobId, afterEventId: $after) { eventId kind runId status attempt }
}"""
RARELY = "0 0 1 1 *"


def http_input(url: str, **extra: object) -> dict[str, object]:
    return {
        "type": "HTTP",
        "name": "ping",
        "schedule": {"cron": RARELY, "timezone": "Europe/Berlin"},
        "http": {"method": "GET", "url": url},
        **extra,
    }


async def test_register_create_trigger_and_watch_the_run_live(server, target) -> None:
    client = await sign_up(server, "ada@example.com")
    me = await client("{ me { email role } }")
    assert me["me"] == {"email": "ada@example.com", "role": "ADMIN"}
    secret = {"name": "Authorization", "value": "Bearer s3cr3t-value", "secret": True}
    job = (
        await client(
            CREATE,
            input=http_input(
                target.url("/echo"),
                http={"method": "GET", "url": target.url("/echo"), "headers": [secret]},
            ),
        )
    )["createJob"]
    assert job["schedule"]["description"]
    assert job["http"]["headers"] == [{"name": "Authorization", "value": "••••••", "secret": True}]
    position = (await client("{ feedPosition }"))["feedPosition"]
    async with client.subscribe(RUN_EVENTS, jobId=job["id"], after=position) as events:
        run = (await client(TRIGGER, id=job["id"]))["triggerJob"]
        seen = [await events.next() for _ in range(3)]
    statuses = [e["runEvents"]["status"] for e in seen]
    assert statuses == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert {e["runEvents"]["runId"] for e in seen} == {run["id"]}
    ids = [int(e["runEvents"]["eventId"]) for e in seen]
    assert ids == sorted(ids)
    assert target.requests[-1].headers["authorization"] == "Bearer s3cr3t-value"
    detail = await client(
        "query($id: ID!) { run(id: $id) { status httpStatus durationMs logs { seq text } "
        "attempts { id } job { name } } }",
        id=run["id"],
    )
    assert detail["run"]["status"] == "SUCCEEDED" and detail["run"]["httpStatus"] == 200
    assert detail["run"]["logs"] and detail["run"]["job"]["name"] == "ping"
    assert "s3cr3t-value" not in str(detail) + str(job)


async def test_run_log_lines_arrive_while_the_script_runs(server) -> None:
    client = await sign_up(server, "admin@example.com")
    code = (
        "import time\nfor i in range(5):\n    print('line', i, flush=True)\n    time.sleep(0.6)\n"
    )
    job = (
        await client(
            CREATE,
            input={
                "type": "SCRIPT",
                "name": "slow-printer",
                "schedule": {"cron": RARELY},
                "script": {"command": "python3", "args": ["-c", code], "cwd": "."},
            },
        )
    )["createJob"]
    run = (await client(TRIGGER, id=job["id"]))["triggerJob"]
    query = "subscription($id: ID!) { runLog(runId: $id) { seq stream text } }"
    async with client.subscribe(query, id=run["id"]) as log:
        lines = []
        loop = asyncio.get_running_loop()
        arrivals = []
        async for item in log.stream(timeout=20):
            line = item["runLog"]
            if line["stream"] == "stdout":
                lines.append(line["text"])
                arrivals.append(loop.time())
        assert log.completed  # the subscription ends when the run has finished
    assert lines == [f"line {i}" for i in range(5)]
    assert arrivals[-1] - arrivals[0] > 1.5  # they came as printed, not all at the end


async def test_reconnecting_with_the_last_event_id_misses_nothing(server, target) -> None:
    client = await sign_up(server, "ada@example.com")
    job = (await client(CREATE, input=http_input(target.url("/ok"))))["createJob"]
    position = (await client("{ feedPosition }"))["feedPosition"]
    async with client.subscribe(RUN_EVENTS, jobId=job["id"], after=position) as events:
        await client(TRIGGER, id=job["id"])
        first = [await events.next() for _ in range(3)]
    last_id = first[-1]["runEvents"]["eventId"]
    # While nobody listens, two more runs happen.
    for _ in range(2):
        await client(TRIGGER, id=job["id"])
    await asyncio.sleep(1.5)
    async with client.subscribe(RUN_EVENTS, jobId=job["id"], after=last_id) as events:
        missed = [await events.next() for _ in range(6)]
        with pytest.raises(TimeoutError):
            await events.next(timeout=1)  # and nothing more, nothing twice
    ids = [int(e["runEvents"]["eventId"]) for e in first + missed]
    assert ids == sorted(set(ids))
    assert [e["runEvents"]["status"] for e in missed].count("SUCCEEDED") == 2


async def test_validation_errors_name_the_input_field(server) -> None:
    client = await sign_up(server, "ada@example.com")
    bad = http_input("https://example.com/")
    bad["schedule"] = {"cron": "61 * * * *", "timezone": "UTC"}
    with pytest.raises(GraphQLError) as caught:
        await client(CREATE, input=bad)
    assert caught.value.code == "validation_error"
    assert caught.value.field == "input.schedule.cron"
    assert "61" in str(caught.value)
    bad["schedule"] = {"cron": "* * * * *", "timezone": "Mars/Olympus"}
    with pytest.raises(GraphQLError) as caught:
        await client(CREATE, input=bad)
    assert caught.value.field == "input.schedule.timezone" and "Mars/Olympus" in str(caught.value)
    for count in (0, 100000):
        with pytest.raises(GraphQLError) as caught:
            await client(
                'query($n: Int!) { previewSchedule(cron: "* * * * *", count: $n) '
                "{ occurrences { utc } } }",
                n=count,
            )
        assert caught.value.field == "count"
    body = await client.raw("{ jobs(first: 500) { edges { node { id } } } }")
    assert body["errors"][0]["extensions"]["field"] == "first"
    assert "Traceback" not in str(body)


async def test_preview_marks_dst_moves(anon: GQL) -> None:
    data = await anon(
        'query { previewSchedule(cron: "30 2 * * *", timezone: "Europe/Berlin", count: 3, '
        'from: "2026-03-28T00:00:00Z", zones: ["America/New_York"]) '
        "{ description occurrences { utc local note dstShifted zones { timezone local } } } }"
    )
    occ = data["previewSchedule"]["occurrences"]
    assert occ[1]["utc"].startswith("2026-03-29T01:00:00")
    assert occ[1]["dstShifted"] and "does not exist" in occ[1]["note"]
    assert occ[0]["note"] is None
    assert occ[1]["zones"][0]["timezone"] == "America/New_York"


async def test_access_control_over_graphql_and_subscriptions(server, target) -> None:
    alice = await sign_up(server, "alice@example.com")  # first account: admin
    bob = await sign_up(server, "bob@example.com")  # member
    carol = await sign_up(server, "carol@example.com")  # member
    job = (await bob(CREATE, input=http_input(target.url("/ok"))))["createJob"]
    assert (await carol("query($id: ID!) { job(id: $id) { id } }", id=job["id"]))["job"] is None
    for mutation in (
        "mutation($id: ID!) { triggerJob(id: $id) { id } }",
        "mutation($id: ID!) { deleteJob(id: $id) }",
        "mutation($id: ID!) { pauseJob(id: $id) { id } }",
    ):
        with pytest.raises(GraphQLError) as caught:
            await carol(mutation, id=job["id"])
        assert caught.value.code == "not_found"
    with pytest.raises(GraphQLError) as caught:
        await carol(
            "mutation($i: JobInput!) { createJob(input: $i) { id } }",
            i={
                "type": "SCRIPT",
                "name": "x",
                "schedule": {"cron": RARELY},
                "script": {"command": "id"},
            },
        )
    assert caught.value.code == "forbidden" and "admin" in str(caught.value)
    assert (await carol("{ jobs { edges { node { id } } } }"))["jobs"]["edges"] == []
    # Make carol a viewer: she reads everything and changes nothing.
    users = (await alice("{ users { id email } }"))["users"]
    carol_id = next(u["id"] for u in users if u["email"] == "carol@example.com")
    await alice(
        "mutation($id: ID!) { setUserRole(userId: $id, role: VIEWER) { role } }", id=carol_id
    )
    assert (await carol("query($id: ID!) { job(id: $id) { id } }", id=job["id"]))["job"]
    with pytest.raises(GraphQLError) as caught:
        await carol("mutation($id: ID!) { triggerJob(id: $id) { id } }", id=job["id"])
    assert caught.value.code == "forbidden"
    # Subscriptions: dave (a new member) may not watch bob's job, and sees none of its events.
    dave = await sign_up(server, "dave@example.com")
    with pytest.raises(GraphQLError):
        async with dave.subscribe(RUN_EVENTS, jobId=job["id"]) as events:
            await events.next(timeout=5)
    position = (await dave("{ feedPosition }"))["feedPosition"]
    async with dave.subscribe(RUN_EVENTS, after=position) as everything:
        await bob(TRIGGER, id=job["id"])
        with pytest.raises(TimeoutError):
            await everything.next(timeout=2)
    anonymous = GQL(server.url)
    with pytest.raises(GraphQLError) as caught:
        await anonymous("{ jobs { edges { node { id } } } }")
    assert caught.value.code == "unauthenticated"
    await anonymous.close()


def test_schema_graphql_is_in_sync_with_the_code(repo_root) -> None:
    from app.graphql.sdl import schema_sdl

    committed = (repo_root / "schema.graphql").read_text()
    assert committed == schema_sdl(), "schema.graphql is stale: run `dts export-schema`"


async def test_unstorable_text_is_refused_with_its_path(server) -> None:
    client = await sign_up(server, "ada@example.com")
    bad = http_input("https://example.com/", name="nul\u0000name")
    with pytest.raises(GraphQLError) as caught:
        await client(CREATE, input=bad)
    assert caught.value.code == "validation_error" and caught.value.field == "variables.input.name"
    body = await client.raw(
        'mutation { login(email: "a\\u0000@x.io", password: "p") { accessToken } }'
    )
    assert body["errors"][0]["extensions"]["field"] == "query"
