"""The original brief's REST flow, with its exact JSON, against a live `dts api`."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime

from tests.rest.conftest import Client, error_of

# Exactly as the brief writes it (seed.md, "Example: Script Job").
BRIEF_SCRIPT_JOB = {
    "type": "script",
    "name": "hello-script",
    "schedule": "*/2 * * * *",
    "timezone": "UTC",
    "script": {"command": "node", "args": ["scripts/hello.js"], "cwd": "./"},
}


async def test_brief_flow(anon: Client) -> None:
    credentials = {"email": "ada@example.com", "password": "correct-horse-battery"}
    registered = await anon.post("/api/auth/register", json=credentials)
    assert registered.status_code == 201, registered.text
    assert registered.json()["user"]["role"] == "admin"  # the first account

    login = await anon.post("/api/auth/login", json=credentials)
    assert login.status_code == 200, login.text
    session = login.json()
    assert session["token"] == session["accessToken"]
    assert session["refreshToken"] and session["expiresIn"] > 0
    assert session["user"] == {
        **registered.json()["user"],
        "createdAt": session["user"]["createdAt"],
    }
    anon.token = session["token"]

    created = await anon.post("/api/jobs", json=BRIEF_SCRIPT_JOB)
    assert created.status_code == 201, created.text
    job = created.json()
    assert created.headers["location"] == f"/api/jobs/{job['id']}"
    for key, value in BRIEF_SCRIPT_JOB.items():
        if key != "script":
            assert job[key] == value
    assert job["script"]["command"] == "node"
    assert job["script"]["args"] == ["scripts/hello.js"]
    assert job["script"]["cwd"] == "./"
    assert job["retry"] == {  # the defaults: retries after 15-30 s, then 1-2 min
        "maxAttempts": 3,
        "initialDelay": 30.0,
        "maxDelay": 600.0,
        "multiplier": 4.0,
    }
    assert job["concurrency"] == "allow" and job["misfire"] == "coalesce"
    assert job["paused"] is False
    next_run = datetime.fromisoformat(job["nextRunAt"])
    assert next_run.minute % 2 == 0 and next_run.second == 0

    listed = await anon.get("/api/jobs")
    assert listed.status_code == 200
    assert [j["id"] for j in listed.json()["items"]] == [job["id"]]
    assert listed.json()["nextCursor"] is None

    fetched = await anon.get(f"/api/jobs/{job['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == job

    patched = await anon.patch(
        f"/api/jobs/{job['id']}", json={"schedule": "30 2 * * *", "timezone": "Europe/Berlin"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["schedule"] == "30 2 * * *"
    assert patched.json()["timezone"] == "Europe/Berlin"
    assert patched.json()["name"] == "hello-script"  # untouched fields stay
    assert patched.json()["version"] == job["version"] + 1

    triggered = await anon.post(f"/api/jobs/{job['id']}/trigger")
    assert triggered.status_code == 201, triggered.text
    run = triggered.json()
    assert run["jobId"] == job["id"] and run["trigger"] == "manual"
    assert run["status"] == "queued" and run["attempt"] == 1

    runs = await anon.get("/api/runs", params={"jobId": job["id"]})
    assert runs.status_code == 200
    assert [r["id"] for r in runs.json()["items"]] == [run["id"]]
    one = await anon.get(f"/api/runs/{run['id']}")
    assert one.status_code == 200 and one.json()["id"] == run["id"]
    logs = await anon.get(f"/api/runs/{run['id']}/logs")
    assert logs.status_code == 200
    assert logs.json()["items"] == [] and logs.json()["lastSeq"] == 0

    preview = await anon.post(
        "/api/inspector/preview", json={"cron": "*/2 * * * *", "timezone": "UTC", "count": 5}
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["description"] == "Every 2 minutes"
    assert len(body["occurrences"]) == 5
    instants = [datetime.fromisoformat(o["utc"]) for o in body["occurrences"]]
    assert all(t.minute % 2 == 0 and t.second == 0 for t in instants)
    assert all((b - a).total_seconds() == 120 for a, b in itertools.pairwise(instants))
    assert instants[0] > datetime.fromisoformat(body["from"])

    job_preview = await anon.get(f"/api/inspector/job/{job['id']}", params={"count": 3})
    assert job_preview.status_code == 200, job_preview.text
    assert job_preview.json()["jobId"] == job["id"]
    assert job_preview.json()["description"] == "At 02:30 every day"
    first = job_preview.json()["occurrences"][0]
    assert first["local"][11:16] in ("02:30", "03:00")

    cancelled = await anon.post(f"/api/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    retried = await anon.post(f"/api/runs/{run['id']}/retry")
    assert retried.status_code == 201 and retried.json()["attempt"] == 2
    assert retried.json()["rootRunId"] == run["id"]

    paused = await anon.post(f"/api/jobs/{job['id']}/pause")
    assert paused.status_code == 200
    assert paused.json()["paused"] is True and paused.json()["nextRunAt"] is None
    resumed = await anon.post(f"/api/jobs/{job['id']}/resume", json={"catchUp": False})
    assert resumed.status_code == 200 and resumed.json()["paused"] is False

    deleted = await anon.delete(f"/api/jobs/{job['id']}")
    assert deleted.status_code == 204
    gone = await anon.get(f"/api/jobs/{job['id']}")
    assert gone.status_code == 404 and error_of(gone)["code"] == "not_found"
    assert (await anon.get("/api/runs", params={"jobId": job["id"]})).json()["items"] == []


async def test_http_job_has_the_same_shape(anon: Client) -> None:
    from tests.rest.conftest import sign_in

    admin = await sign_in(str(anon.http.base_url), "ada@example.com")
    try:
        job = {
            "type": "http",
            "name": "ping",
            "schedule": "0 9 * * MON-FRI",
            "timezone": "America/New_York",
            "http": {
                "method": "POST",
                "url": "https://example.com/hook",
                "headers": {"X-Team": "ops"},
                "body": {"hello": "world"},
            },
            "retry": {"maxAttempts": 5},
            "timeoutSeconds": 10,
            "concurrency": "forbid",
        }
        created = await admin.post("/api/jobs", json=job)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["http"]["method"] == "POST"
        assert body["http"]["url"] == "https://example.com/hook"
        assert {"name": "X-Team", "value": "ops", "secret": False} in body["http"]["headers"]
        assert body["http"]["body"] == {"hello": "world"}
        assert body["retry"]["maxAttempts"] == 5 and body["timeoutSeconds"] == 10
        assert body["concurrency"] == "forbid"
        assert "script" not in body
    finally:
        await admin.http.aclose()


async def test_sessions_refresh_logout_and_me(anon: Client) -> None:
    credentials = {"email": "ada@example.com", "password": "correct-horse-battery"}
    await anon.post("/api/auth/register", json=credentials)
    session = (await anon.post("/api/auth/login", json=credentials)).json()

    me = await anon.get("/api/auth/me", headers={"Authorization": f"Bearer {session['token']}"})
    assert me.status_code == 200 and me.json()["email"] == "ada@example.com"

    renewed = await anon.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert renewed.status_code == 200 and renewed.json()["refreshToken"] != session["refreshToken"]
    replayed = await anon.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert replayed.status_code == 401 and "already used" in error_of(replayed)["message"]

    fresh = (await anon.post("/api/auth/login", json=credentials)).json()
    out = await anon.post("/api/auth/logout", json={"refreshToken": fresh["refreshToken"]})
    assert out.status_code == 204
    again = await anon.post("/api/auth/refresh", json={"refreshToken": fresh["refreshToken"]})
    assert again.status_code == 401

    other = (await anon.post("/api/auth/login", json=credentials)).json()
    bearer = {"Authorization": f"Bearer {other['token']}"}
    await asyncio.sleep(1.1)  # the cutoff has whole-second resolution (JWT `iat`)
    everywhere = await anon.post("/api/auth/logout", json={"everywhere": True}, headers=bearer)
    assert everywhere.status_code == 204
    assert (await anon.get("/api/auth/me", headers=bearer)).status_code == 401
    signed_out = await anon.post("/api/auth/refresh", json={"refreshToken": other["refreshToken"]})
    assert signed_out.status_code == 401

    forgot = await anon.post("/api/auth/forgot", json={"email": "ada@example.com"})
    assert forgot.status_code == 202
    unknown = await anon.post("/api/auth/forgot", json={"email": "nobody@example.com"})
    assert unknown.status_code == 202 and unknown.json() == forgot.json()
    bad_reset = await anon.post(
        "/api/auth/reset", json={"token": "nope", "password": "plum ferry 47 kite"}
    )
    assert bad_reset.status_code == 422 and error_of(bad_reset)["field"] == "token"


async def test_api_tokens(anon: Client) -> None:
    credentials = {"email": "ada@example.com", "password": "correct-horse-battery"}
    await anon.post("/api/auth/register", json=credentials)
    anon.token = (await anon.post("/api/auth/login", json=credentials)).json()["token"]

    made = await anon.post("/api/tokens", json={"name": "ci", "scope": "read"})
    assert made.status_code == 201, made.text
    plaintext = made.json()["token"]
    assert plaintext.startswith("dts_")
    listed = await anon.get("/api/tokens")
    assert [t["name"] for t in listed.json()["items"]] == ["ci"]
    assert plaintext not in listed.text

    robot = Client(anon.http, plaintext)
    assert (await robot.get("/api/jobs")).status_code == 200
    refused = await robot.post("/api/jobs", json={**BRIEF_SCRIPT_JOB})
    assert refused.status_code == 403 and "read-only" in error_of(refused)["message"]

    revoked = await anon.delete(f"/api/tokens/{made.json()['apiToken']['id']}")
    assert revoked.status_code == 204
    after = await robot.get("/api/jobs")
    assert after.status_code == 401 and "revoked" in error_of(after)["message"]
