"""Access control over REST: members see only their own, viewers change nothing, anonymous
callers get 401, and a secret header value never appears in any response."""

from __future__ import annotations

from tests.factories import http_job
from tests.rest.conftest import Client, error_of

SECRET = "s3cr3t-value-that-must-never-leak"


async def test_member_cannot_touch_another_members_job(users: dict[str, Client]) -> None:
    a, b = users["a"], users["b"]
    job = (await b.post("/api/jobs", json=http_job("b-job"))).json()
    run = (await b.post(f"/api/jobs/{job['id']}/trigger")).json()
    job_path, run_path = f"/api/jobs/{job['id']}", f"/api/runs/{run['id']}"

    for method, path, body in (
        ("GET", job_path, None),
        ("PATCH", job_path, {"name": "mine now"}),
        ("DELETE", job_path, None),
        ("POST", f"{job_path}/trigger", None),
        ("POST", f"{job_path}/pause", None),
        ("POST", f"{job_path}/resume", None),
        ("GET", f"/api/inspector/job/{job['id']}", None),
        ("GET", run_path, None),
        ("GET", f"{run_path}/logs", None),
        ("POST", f"{run_path}/cancel", None),
        ("POST", f"{run_path}/retry", None),
    ):
        response = await a.request(method, path, json=body)
        # "not found", never "forbidden": ids of other people's jobs do not leak.
        assert response.status_code == 404, (method, path, response.text)
        assert error_of(response)["code"] == "not_found"

    assert (await a.get("/api/jobs")).json()["items"] == []
    assert (await a.get("/api/runs")).json()["items"] == []
    assert (await a.get("/api/runs", params={"jobId": job["id"]})).json()["items"] == []
    still = await b.get(job_path)
    assert still.status_code == 200 and still.json()["name"] == "b-job"
    assert (await b.get(run_path)).json()["status"] == "queued"

    # The admin reads and changes everyone's jobs.
    admin = users["admin"]
    assert [j["id"] for j in (await admin.get("/api/jobs")).json()["items"]] == [job["id"]]
    assert (await admin.post(f"{job_path}/pause")).json()["paused"] is True


async def test_viewer_reads_everything_and_changes_nothing(users: dict[str, Client]) -> None:
    viewer, b = users["viewer"], users["b"]
    job = (await b.post("/api/jobs", json=http_job("b-job"))).json()
    run = (await b.post(f"/api/jobs/{job['id']}/trigger")).json()
    job_path, run_path = f"/api/jobs/{job['id']}", f"/api/runs/{run['id']}"

    assert (await viewer.get(job_path)).status_code == 200
    assert (await viewer.get(run_path)).status_code == 200
    assert (await viewer.get(f"/api/inspector/job/{job['id']}")).status_code == 200
    assert len((await viewer.get("/api/jobs")).json()["items"]) == 1

    for method, path, body in (
        ("POST", "/api/jobs", http_job("viewer-job")),
        ("PATCH", job_path, {"name": "renamed"}),
        ("DELETE", job_path, None),
        ("POST", f"{job_path}/trigger", None),
        ("POST", f"{job_path}/pause", None),
        ("POST", f"{run_path}/cancel", None),
    ):
        response = await viewer.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert "viewers" in error_of(response)["message"]
    assert (await b.get(job_path)).json()["name"] == "b-job"
    assert (await b.get(run_path)).json()["status"] == "queued"


async def test_anonymous_gets_401_but_may_preview(anon: Client, users: dict[str, Client]) -> None:
    job = (await users["a"].post("/api/jobs", json=http_job())).json()
    for method, path in (
        ("GET", "/api/jobs"),
        ("GET", f"/api/jobs/{job['id']}"),
        ("POST", f"/api/jobs/{job['id']}/trigger"),
        ("DELETE", f"/api/jobs/{job['id']}"),
        ("GET", f"/api/inspector/job/{job['id']}"),
        ("GET", "/api/runs"),
    ):
        response = await anon.request(method, path)
        assert response.status_code == 401, (method, path)
    public = await anon.post("/api/inspector/preview", json={"cron": "@daily", "count": 2})
    assert public.status_code == 200
    expired = await anon.post(
        "/api/inspector/preview",
        json={"cron": "@daily"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert expired.status_code == 401  # credentials, if sent, must be valid


async def test_a_secret_header_never_appears_in_any_response(users: dict[str, Client]) -> None:
    a = users["a"]
    bodies: list[str] = []

    async def call(method: str, path: str, **kwargs: object) -> dict:
        response = await a.request(method, path, **kwargs)
        bodies.append(response.text)
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    spec = {
        "method": "POST",
        "url": "https://example.com/hook",
        "headers": [
            {"name": "X-Signature", "value": SECRET, "secret": True},
            {"name": "Authorization", "value": f"Bearer {SECRET}"},  # always secret
            {"name": "X-Plain", "value": "visible"},
        ],
    }
    job = await call("POST", "/api/jobs", json=http_job("signed", http=spec))
    headers = {h["name"]: h for h in job["http"]["headers"]}
    assert headers["X-Signature"]["secret"] and headers["Authorization"]["secret"]
    assert headers["X-Plain"]["value"] == "visible"

    # The masked value sent back (an edit form round trip) keeps the stored secret.
    round_trip = {**job["http"], "url": "https://example.com/other"}
    await call("PATCH", f"/api/jobs/{job['id']}", json={"http": round_trip})
    await call("GET", f"/api/jobs/{job['id']}")
    await call("GET", "/api/jobs")
    run = await call("POST", f"/api/jobs/{job['id']}/trigger")
    await call("GET", f"/api/runs/{run['id']}")
    await call("GET", "/api/runs")
    await call("GET", f"/api/inspector/job/{job['id']}")
    await call("POST", f"/api/jobs/{job['id']}/pause")
    await call("POST", f"/api/jobs/{job['id']}/resume")
    admin_view = await users["admin"].get(f"/api/jobs/{job['id']}")
    viewer_view = await users["viewer"].get("/api/jobs")
    bodies += [admin_view.text, viewer_view.text]

    assert len(bodies) == 12
    for body in bodies:
        assert SECRET not in body
    stored = await users["admin"].get(f"/api/jobs/{job['id']}")
    assert stored.json()["http"]["url"] == "https://example.com/other"
    assert {h["name"] for h in stored.json()["http"]["headers"]} == {
        "X-Signature",
        "Authorization",
        "X-Plain",
    }
