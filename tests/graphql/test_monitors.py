"""Monitors over GraphQL against a live `dts up`, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gql_client import GraphQLError
from tests.graphql.conftest import sign_up
from tests.live import LiveServer

MONITOR = """id name state paused timezone cron periodSeconds graceSeconds pingUrl
  nextExpected(zones: ["America/New_York"]) { utc local timezone zones { timezone local } }"""
CREATE = "mutation($input: MonitorInput!) { createMonitor(input: $input) { MONITOR } }".replace(
    "MONITOR", MONITOR
)
UPDATE = (
    "mutation($id: ID!, $input: MonitorInput!) "
    "{ updateMonitor(id: $id, input: $input) { MONITOR } }"
).replace("MONITOR", MONITOR)
PINGS = "query($id: ID!) { monitor(id: $id) { state pings(first: 5) { kind exitStatus body } } }"


async def test_monitor_flow(server: LiveServer) -> None:
    ada = await sign_up(server, "ada@example.com")  # the first account: admin
    bob = await sign_up(server, "bob@example.com")
    try:
        data = await bob(
            CREATE,
            input={
                "name": "backup",
                "cron": "30 2 * * *",
                "timezone": "Europe/Berlin",
                "graceSeconds": 600,
            },
        )
        monitor = data["createMonitor"]
        assert monitor["state"] == "NEW" and monitor["cron"] == "30 2 * * *"
        assert monitor["nextExpected"]["timezone"] == "Europe/Berlin"
        assert monitor["nextExpected"]["local"].startswith(monitor["nextExpected"]["local"][:10])
        assert monitor["nextExpected"]["zones"][0]["timezone"] == "America/New_York"
        path = "/ping/" + monitor["pingUrl"].rsplit("/", 1)[1]
        assert (await bob.http.post(path + "/start")).text == "OK"
        assert (await bob.http.post(path + "/0", content=b"42 files")).text == "OK"
        seen = (await bob(PINGS, id=monitor["id"]))["monitor"]
        assert seen["state"] == "UP"
        assert [(p["kind"], p["exitStatus"], p["body"]) for p in seen["pings"]] == [
            ("SUCCESS", 0, "42 files"),
            ("START", None, ""),
        ]
        listed = await bob("{ monitors { edges { node { id } } pageInfo { hasNextPage } } }")
        assert [e["node"]["id"] for e in listed["monitors"]["edges"]] == [monitor["id"]]
        # Admins see everyone's; a stranger sees nothing.
        carol = await sign_up(server, "carol@example.com")
        assert (await carol(PINGS, id=monitor["id"]))["monitor"] is None
        assert (await carol("{ monitors { edges { node { id } } } }"))["monitors"]["edges"] == []
        with pytest.raises(GraphQLError) as refused:
            await carol("mutation($id: ID!) { pauseMonitor(id: $id) { id } }", id=monitor["id"])
        assert refused.value.code == "not_found"
        await carol.close()
        assert (await ada(PINGS, id=monitor["id"]))["monitor"]["state"] == "UP"

        changed = await bob(UPDATE, id=monitor["id"], input={"periodSeconds": 3600})
        assert changed["updateMonitor"]["cron"] is None
        assert changed["updateMonitor"]["periodSeconds"] == 3600
        paused = await bob(
            "mutation($id: ID!) { pauseMonitor(id: $id) { paused nextExpected { utc } } }",
            id=monitor["id"],
        )
        assert paused["pauseMonitor"] == {"paused": True, "nextExpected": None}
        resumed = await bob(
            "mutation($id: ID!) { resumeMonitor(id: $id) { paused state } }", id=monitor["id"]
        )
        assert resumed["resumeMonitor"] == {"paused": False, "state": "NEW"}
        deleted = await bob("mutation($id: ID!) { deleteMonitor(id: $id) }", id=monitor["id"])
        assert deleted["deleteMonitor"] == monitor["id"]
        assert (await bob(PINGS, id=monitor["id"]))["monitor"] is None
        assert (await bob.http.get(path)).status_code == 404
    finally:
        await ada.close()
        await bob.close()


async def test_bad_monitor_input_names_the_field(server: LiveServer) -> None:
    ada = await sign_up(server, "ada@example.com")
    try:
        cases = [
            ({"name": "x", "cron": "61 * * * *"}, "input.cron"),
            ({"name": "x", "cron": "* * * * *", "timezone": "Nowhere/City"}, "input.timezone"),
            ({"name": "x"}, "input.cron"),
            ({"name": "x", "periodSeconds": 10}, "input.periodSeconds"),
            ({"name": "x", "periodSeconds": 60, "graceSeconds": -5}, "input.graceSeconds"),
            ({"name": " ", "periodSeconds": 60}, "input.name"),
        ]
        for given, field in cases:
            with pytest.raises(GraphQLError) as error:
                await ada(CREATE, input=given)
            assert error.value.code == "validation_error", given
            assert error.value.field == field, (given, error.value.errors)
        with pytest.raises(GraphQLError) as bad_first:
            await ada("{ monitors(first: 0) { edges { cursor } } }")
        assert bad_first.value.field == "first"
    finally:
        await ada.close()


MONITOR_EVENTS = """subscription($after: ID) {
  monitorEvents(afterEventId: $after) {
    eventId monitorId change fromState toState ranTooLong monitor { name state }
  }
}"""


async def test_monitor_events_are_live_owner_only_and_resumable(server: LiveServer) -> None:
    ada = await sign_up(server, "ada@example.com")
    bob = await sign_up(server, "bob@example.com")
    carol = await sign_up(server, "carol@example.com")
    try:
        position = (await bob("{ feedPosition }"))["feedPosition"]
        async with bob.subscribe(MONITOR_EVENTS, after=position) as events:
            made = await bob(CREATE, input={"name": "sync", "periodSeconds": 600})
            monitor = made["createMonitor"]
            path = "/ping/" + monitor["pingUrl"].rsplit("/", 1)[1]
            await carol(CREATE, input={"name": "not bob's", "periodSeconds": 600})
            assert (await bob.http.get(path)).text == "OK"
            assert (await bob.http.get(path + "/fail")).text == "OK"
            seen = [(await events.next())["monitorEvents"] for _ in range(3)]
        assert [(e["change"], e["fromState"], e["toState"]) for e in seen] == [
            ("created", None, None),
            (None, "NEW", "UP"),
            (None, "UP", "DOWN"),
        ]
        assert {e["monitorId"] for e in seen} == {monitor["id"]}
        assert seen[-1]["monitor"] == {"name": "sync", "state": "DOWN"}
        # Resume after the first event: the rest arrive again, in order.
        async with bob.subscribe(MONITOR_EVENTS, after=seen[0]["eventId"]) as again:
            replay = [(await again.next())["monitorEvents"]["eventId"] for _ in range(2)]
        assert replay == [seen[1]["eventId"], seen[2]["eventId"]]
        # The job list's feed does not carry monitor events.
        async with ada.subscribe(
            "subscription($after: ID) { jobEvents(afterEventId: $after) { kind } }",
            after=position,
        ) as jobs:
            with pytest.raises(TimeoutError):
                await jobs.next(timeout=1.5)
    finally:
        for client in (ada, bob, carol):
            await client.close()


async def next_move(events: Any, timeout: float = 15) -> dict[str, Any]:
    """The next state move (skipping created/updated… events)."""
    while True:
        event = (await events.next(timeout=timeout))["monitorEvents"]
        if event["change"] is None:
            return dict(event)


async def test_the_running_worker_marks_a_silent_monitor_late(server: LiveServer, db) -> None:
    """`dts up`'s own worker loop checks monitors: a deadline that passes is noticed within
    the poll interval, without any request."""
    from datetime import timedelta

    from sqlalchemy import update

    from app.db.models import Monitor as MonitorRow
    from app.db.types import utcnow

    bob = await sign_up(server, "bob@example.com")
    try:
        made = await bob(CREATE, input={"name": "quiet", "periodSeconds": 3600, "graceSeconds": 0})
        monitor = made["createMonitor"]
        path = "/ping/" + monitor["pingUrl"].rsplit("/", 1)[1]
        position = (await bob("{ feedPosition }"))["feedPosition"]
        async with bob.subscribe(MONITOR_EVENTS, after=position) as events:
            assert (await bob.http.get(path)).text == "OK"
            assert (await next_move(events))["toState"] == "UP"
            # An hour passes in a moment: the expected ping is now overdue.
            async with db.transaction() as session:
                await session.execute(
                    update(MonitorRow)
                    .where(MonitorRow.id == int(monitor["id"]))
                    .values(deadline_at=utcnow() - timedelta(seconds=1))
                )
            late = await next_move(events, timeout=20)
            down = await next_move(events, timeout=20)  # grace 0
        assert (late["fromState"], late["toState"]) == ("UP", "LATE")
        assert (down["fromState"], down["toState"]) == ("LATE", "DOWN")
    finally:
        await bob.close()
