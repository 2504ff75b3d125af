"""`runEvents` shows each event's run as it was then, and GraphQL writes times exactly as
REST does (UTC with a `Z`) — issue 14, item 10."""

from __future__ import annotations

import re

import httpx

from tests.graphql.conftest import sign_up

CREATE = "mutation($input: JobInput!) { createJob(input: $input) { id } }"
TRIGGER = "mutation($id: ID!) { triggerJob(id: $id) { id } }"
RUN_EVENTS = """subscription($jobId: ID, $after: ID) {
  runEvents(jobId: $jobId, afterEventId: $after) {
    eventId kind status at scheduledFor
    run { status startedAt finishedAt httpStatus output workerId }
  }
}"""
RUN_TIMES = """query($id: ID!) {
  run(id: $id) { scheduledFor queuedAt startedAt finishedAt }
}"""
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


async def test_replayed_run_events_show_the_run_as_of_each_event(server, target) -> None:
    client = await sign_up(server, "ada@example.com")
    job = (
        await client(
            CREATE,
            input={
                "type": "HTTP",
                "name": "ping",
                "schedule": {"cron": "0 0 1 1 *", "timezone": "Europe/Berlin"},
                "http": {"method": "GET", "url": target.url("/ok")},
            },
        )
    )["createJob"]
    position = (await client("{ feedPosition }"))["feedPosition"]
    async with client.subscribe(RUN_EVENTS, jobId=job["id"], after=position) as events:
        run = (await client(TRIGGER, id=job["id"]))["triggerJob"]
        live = [(await events.next())["runEvents"] for _ in range(3)]
    assert [e["status"] for e in live] == ["QUEUED", "RUNNING", "SUCCEEDED"]

    # Replayed after the run finished: each event still shows the run as it was then.
    async with client.subscribe(RUN_EVENTS, jobId=job["id"], after=position) as events:
        replayed = [(await events.next())["runEvents"] for _ in range(3)]
    queued, running, finished = replayed
    assert [e["run"]["status"] for e in replayed] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert queued["run"] == {
        "status": "QUEUED",
        "startedAt": None,
        "finishedAt": None,
        "httpStatus": None,
        "output": None,
        "workerId": None,
    }
    assert running["run"]["startedAt"] is not None and running["run"]["workerId"]
    assert running["run"]["finishedAt"] is None and running["run"]["httpStatus"] is None
    assert finished["run"]["httpStatus"] == 200 and finished["run"]["finishedAt"]
    for event in replayed:
        assert UTC_Z.match(event["at"]) and UTC_Z.match(event["scheduledFor"]), event

    # The same run's times over GraphQL and REST: the same strings.
    times = (await client(RUN_TIMES, id=run["id"]))["run"]
    async with httpx.AsyncClient(base_url=server.url) as rest:
        answer = await rest.get(
            "/api/runs",
            params={"jobId": job["id"]},
            headers={"Authorization": f"Bearer {client.token}"},
        )
    assert answer.status_code == 200, answer.text
    [listed] = [r for r in answer.json()["items"] if str(r["id"]) == run["id"]]
    for name, value in times.items():
        assert UTC_Z.match(value), (name, value)
        assert listed[name] == value, name
