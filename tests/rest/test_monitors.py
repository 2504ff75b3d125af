"""`/api/monitors` against a live `dts api`, on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.rest.conftest import Client, error_of


async def create(client: Client, **fields: object) -> dict[str, object]:
    response = await client.post(
        "/api/monitors", json={"name": "nightly backup", "cron": "30 2 * * *", **fields}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_ping_read_and_list_pings(users: dict[str, Client], anon: Client) -> None:
    a = users["a"]
    monitor = await create(a, timezone="Europe/Berlin", graceSeconds=600)
    assert monitor["state"] == "new" and monitor["timezone"] == "Europe/Berlin"
    url = str(monitor["pingUrl"])
    assert url.endswith("/ping/" + url.rsplit("/", 1)[1]) and len(url.rsplit("/", 1)[1]) == 36
    path = "/ping/" + url.rsplit("/", 1)[1]
    assert (await anon.post(path, content=b"done")).text == "OK"
    fresh = (await a.get(f"/api/monitors/{monitor['id']}")).json()
    assert fresh["state"] == "up" and fresh["lastPingAt"] is not None
    pings = (await a.get(f"/api/monitors/{monitor['id']}/pings")).json()["items"]
    assert [(p["kind"], p["body"]) for p in pings] == [("success", "done")]
    listed = (await a.get("/api/monitors")).json()
    assert [m["id"] for m in listed["items"]] == [monitor["id"]]


async def test_owner_only_admins_and_viewers_read_all(users: dict[str, Client]) -> None:
    mine = await create(users["a"])
    b, admin, viewer = users["b"], users["admin"], users["viewer"]
    assert (await b.get(f"/api/monitors/{mine['id']}")).status_code == 404
    assert (await b.get("/api/monitors")).json()["items"] == []
    assert (await b.patch(f"/api/monitors/{mine['id']}", json={"name": "x"})).status_code == 404
    assert (await b.delete(f"/api/monitors/{mine['id']}")).status_code == 404
    assert (await admin.get(f"/api/monitors/{mine['id']}")).status_code == 200
    assert (await viewer.get(f"/api/monitors/{mine['id']}")).status_code == 200
    refused = await viewer.post(f"/api/monitors/{mine['id']}/pause")
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    paused = await admin.post(f"/api/monitors/{mine['id']}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    resumed = await users["a"].post(f"/api/monitors/{mine['id']}/resume")
    assert resumed.json()["paused"] is False and resumed.json()["state"] == "new"
    assert (await users["a"].delete(f"/api/monitors/{mine['id']}")).status_code == 204
    assert (await users["a"].get(f"/api/monitors/{mine['id']}")).status_code == 404


async def test_bad_input_names_the_field(users: dict[str, Client]) -> None:
    a = users["a"]
    cases = [
        ({"name": "x", "cron": "* * *"}, "cron"),
        ({"name": "", "cron": "* * * * *"}, "name"),
        ({"name": "x"}, "cron"),
        ({"name": "x", "cron": "* * * * *", "periodSeconds": 60}, "cron"),
        ({"name": "x", "cron": "* * * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "x", "periodSeconds": 5}, "periodSeconds"),
        ({"name": "x", "periodSeconds": "60"}, "periodSeconds"),
        ({"name": "x", "periodSeconds": 60, "graceSeconds": -1}, "graceSeconds"),
        ({"name": "x", "periodSeconds": 60, "maxDurationSeconds": 0}, "maxDurationSeconds"),
        ({"name": "x", "periodSeconds": 60, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await a.post("/api/monitors", json=body)
        assert response.status_code == 422, (body, response.text)
        assert error_of(response)["field"] == field, (body, response.text)
    assert (await a.post("/api/monitors", json=[1])).status_code == 422
    assert (await a.get("/api/monitors/abc")).status_code == 404
    assert (await a.get("/api/monitors?limit=0")).status_code == 422
