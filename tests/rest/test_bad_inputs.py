"""Bad input on each endpoint gets the error shape, the right status, and a useful message."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import http_job, script_job
from tests.rest.conftest import Client, error_of


async def test_invalid_cron_names_the_field_and_the_value(users: dict[str, Client]) -> None:
    a = users["a"]
    response = await a.post("/api/jobs", json=http_job(cron="61 * * * *"))
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["field"] in ("schedule", "schedule.cron")
    assert "61" in error["message"] and "minute" in error["message"]

    object_form = await a.post(
        "/api/jobs", json=http_job(cron=None) | {"schedule": {"cron": "* * * * * * *"}}
    )
    assert object_form.status_code == 422
    assert error_of(object_form)["field"] in ("schedule", "schedule.cron")

    job = (await a.post("/api/jobs", json=http_job())).json()
    patched = await a.patch(f"/api/jobs/{job['id']}", json={"schedule": "0 25 * * *"})
    assert patched.status_code == 422
    assert error_of(patched)["field"] in ("schedule", "schedule.cron")
    assert "25" in error_of(patched)["message"]

    preview = await a.post("/api/inspector/preview", json={"cron": "*/0 * * * *"})
    assert preview.status_code == 422
    assert error_of(preview)["field"] == "cron" and "*/0" in error_of(preview)["message"]


async def test_unknown_timezone(users: dict[str, Client]) -> None:
    a = users["a"]
    response = await a.post("/api/jobs", json=http_job(timezone="Mars/Olympus_Mons"))
    assert response.status_code == 422
    # the brief's JSON sends `timezone` beside a cron string: the error names what was sent
    assert error_of(response)["field"] == "timezone"
    assert "Mars/Olympus_Mons" in error_of(response)["message"]
    nested = http_job(cron=None) | {"schedule": {"cron": "@daily", "timezone": "Mars/Base"}}
    object_form = await a.post("/api/jobs", json=nested)
    assert error_of(object_form)["field"] == "schedule.timezone"
    not_text = await a.post("/api/jobs", json=http_job(timezone=5))
    assert error_of(not_text)["field"] == "timezone"
    assert error_of(not_text)["message"].startswith("expected a zone name, got 5")

    preview = await a.post(
        "/api/inspector/preview", json={"cron": "@daily", "timezone": "europe/berlin"}
    )
    assert preview.status_code == 422
    assert error_of(preview)["field"] == "timezone"
    assert "did you mean 'Europe/Berlin'" in error_of(preview)["message"]

    zones = await a.post("/api/inspector/preview", json={"cron": "@daily", "zones": ["Nowhere"]})
    assert zones.status_code == 422 and error_of(zones)["field"] == "zones[0]"


async def test_missing_and_wrong_values_read_as_sentences(users: dict[str, Client]) -> None:
    a = users["a"]
    cases = [
        ({**http_job(), "type": None}, "type", "type must be one of http, script"),
        ({**http_job(), "type": "ftp"}, "type", "type must be one of http, script, not 'ftp'"),
        (http_job(concurrency=None), "concurrency", "concurrency must be one of allow, forbid"),
        (http_job(paused=None), "paused", "expected true or false, got null"),
        (http_job(timeoutSeconds=None), "timeoutSeconds", "expected a number, got null"),
        ({**http_job(), "schedule": None}, "schedule", "a schedule is required"),
        (http_job(misfireLimit=False), "misfireLimit", "expected a whole number 1-1000, got false"),
    ]
    for body, field, message in cases:
        response = await a.post("/api/jobs", json=body)
        assert response.status_code == 422, response.text
        error = error_of(response)
        assert (error["field"], error["message"][: len(message)]) == (field, message)
        assert "None" not in error["message"] and "False" not in error["message"]
    preview = await a.post("/api/inspector/preview", json={"cron": None})
    assert error_of(preview)["message"] == "a cron expression is required, e.g. '*/5 * * * *'"


async def test_preview_count_out_of_range(anon: Client) -> None:
    for count in (0, 100000, -1, 2.5, "ten", True):
        body = {"cron": "@hourly", "count": count}
        response = await anon.post("/api/inspector/preview", json=body)
        assert response.status_code == 422, count
        error = error_of(response)
        assert error["field"] == "count" and "1 to 1000" in error["message"]


async def test_preview_edges(anon: Client, users: dict[str, Client]) -> None:
    most = await anon.post("/api/inspector/preview", json={"cron": "@hourly", "count": 1000})
    assert most.status_code == 200 and len(most.json()["occurrences"]) == 1000
    whole_float = await anon.post("/api/inspector/preview", json={"cron": "@hourly", "count": 3.0})
    assert whole_float.status_code == 200 and len(whole_float.json()["occurrences"]) == 3
    start = await anon.post(
        "/api/inspector/preview",
        json={"cron": "0 * * * *", "count": 1, "from": "2026-01-01T00:00:00Z"},
    )
    assert start.json()["occurrences"][0]["utc"] == "2026-01-01T01:00:00Z"  # strictly after
    naive = await anon.post(
        "/api/inspector/preview", json={"cron": "@hourly", "from": "2026-01-01T00:00:00"}
    )
    assert naive.status_code == 422 and error_of(naive)["field"] == "from"
    unknown = await anon.post("/api/inspector/preview", json={"cron": "@hourly", "tz": "UTC"})
    assert unknown.status_code == 422 and error_of(unknown)["field"] == "tz"
    missing = await anon.post("/api/inspector/preview", json={"timezone": "UTC"})
    assert missing.status_code == 422 and error_of(missing)["field"] == "cron"

    job = (await users["a"].post("/api/jobs", json=http_job())).json()
    for count in ("0", "100000", "x"):
        bad = await users["a"].get(f"/api/inspector/job/{job['id']}", params={"count": count})
        assert bad.status_code == 422 and error_of(bad)["field"] == "count"
    zone = await users["a"].get(f"/api/inspector/job/{job['id']}", params={"zone": "Atlantis"})
    assert zone.status_code == 422 and error_of(zone)["field"] == "zones[0]"


BODY_ENDPOINTS = [
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/forgot"),
    ("POST", "/api/auth/reset"),
    ("POST", "/api/jobs"),
    ("PATCH", "/api/jobs/1"),
    ("POST", "/api/inspector/preview"),
    ("POST", "/api/tokens"),
]


async def test_malformed_json_is_400(users: dict[str, Client]) -> None:
    for method, path in BODY_ENDPOINTS:
        await check_malformed_json(users["a"], method, path)


async def check_malformed_json(a: Client, method: str, path: str) -> None:
    json_header = {"Content-Type": "application/json"}
    for body in (b'{"name": ', b"{'single': 'quotes'}", b'{"n": NaN}', b"\xff\xfe"):
        response = await a.request(method, path, content=body, headers=json_header)
        assert response.status_code == 400, (body, response.text)
        assert error_of(response)["code"] == "bad_request"
    form = await a.request(method, path, content=b"a=1", headers={"Content-Type": "text/plain"})
    assert form.status_code == 400
    assert "application/json" in error_of(form)["message"]
    empty = await a.request(method, path, headers=json_header)
    assert empty.status_code == 400
    deep = await a.request(
        method, path, content=b"[" * 100_000 + b"]" * 100_000, headers=json_header
    )
    assert deep.status_code == 400
    if method == "POST":  # (PATCH looks the job up first: job 1 does not exist, 404)
        not_object = await a.request(method, path, json=[1, 2])
        assert not_object.status_code == 422


async def test_body_over_one_mebibyte_is_413(users: dict[str, Client]) -> None:
    huge = {"type": "http", "name": "x" * (1024 * 1024 + 10)}
    response = await users["a"].post("/api/jobs", json=huge)
    assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(20):
            yield b" " * 65536
        yield b"{}"

    streamed = await users["a"].post(
        "/api/jobs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


AUTHENTICATED_ENDPOINTS = [
    ("GET", "/api/auth/me"),
    ("GET", "/api/jobs"),
    ("POST", "/api/jobs"),
    ("GET", "/api/jobs/1"),
    ("PATCH", "/api/jobs/1"),
    ("DELETE", "/api/jobs/1"),
    ("POST", "/api/jobs/1/trigger"),
    ("POST", "/api/jobs/1/pause"),
    ("POST", "/api/jobs/1/resume"),
    ("GET", "/api/runs"),
    ("GET", "/api/runs/1"),
    ("GET", "/api/runs/1/logs"),
    ("POST", "/api/runs/1/cancel"),
    ("POST", "/api/runs/1/retry"),
    ("GET", "/api/inspector/job/1"),
    ("GET", "/api/tokens"),
    ("POST", "/api/tokens"),
    ("DELETE", "/api/tokens/1"),
]


async def test_missing_or_bad_auth_is_401(anon: Client) -> None:
    for method, path in AUTHENTICATED_ENDPOINTS:
        json_body = {} if method in ("POST", "PATCH") else None
        missing = await anon.request(method, path, json=json_body)
        assert missing.status_code == 401, (method, path, missing.text)
        assert error_of(missing)["code"] == "unauthenticated"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        for value in ("Bearer not-a-jwt", "Basic YTpi", "Bearer", "Bearer dts_nope"):
            headers = {"Authorization": value}
            bad = await anon.request(method, path, json=json_body, headers=headers)
            assert bad.status_code == 401, (method, path, value, bad.text)


async def test_member_creating_a_script_job_is_403_with_the_reason(
    users: dict[str, Client],
) -> None:
    response = await users["a"].post("/api/jobs", json=script_job())
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "forbidden" and error["field"] == "type"
    assert "only admins" in error["message"] and "script" in error["message"]
    assert (await users["admin"].post("/api/jobs", json=script_job())).status_code == 201


UNKNOWN_IDS = [
    ("GET", "/api/jobs/999999"),
    ("PATCH", "/api/jobs/999999"),
    ("DELETE", "/api/jobs/999999"),
    ("POST", "/api/jobs/999999/trigger"),
    ("POST", "/api/jobs/999999/pause"),
    ("POST", "/api/jobs/999999/resume"),
    ("GET", "/api/inspector/job/999999"),
    ("GET", "/api/runs/999999"),
    ("GET", "/api/runs/999999/logs"),
    ("POST", "/api/runs/999999/cancel"),
    ("POST", "/api/runs/999999/retry"),
    ("GET", "/api/jobs/abc"),
    ("GET", "/api/jobs/0"),
    ("GET", "/api/jobs/99999999999999999999999999"),
    ("GET", "/api/runs/-1"),
    ("DELETE", "/api/tokens/999999"),
]


async def test_unknown_ids_are_404(users: dict[str, Client]) -> None:
    for method, path in UNKNOWN_IDS:
        json_body = {"name": "x"} if method == "PATCH" else None
        response = await users["admin"].request(method, path, json=json_body)
        assert response.status_code == 404, (method, path, response.text)
        assert error_of(response)["code"] == "not_found"


async def test_bad_login_is_401_then_throttled_429(anon: Client) -> None:
    credentials = {"email": "ada@example.com", "password": "correct-horse-battery"}
    await anon.post("/api/auth/register", json=credentials)
    unknown = await anon.post("/api/auth/login", json={**credentials, "email": "eve@example.com"})
    wrong = await anon.post("/api/auth/login", json={**credentials, "password": "wrong-password"})
    assert unknown.status_code == wrong.status_code == 401
    assert error_of(unknown)["message"] == error_of(wrong)["message"] == "wrong e-mail or password"
    # After 5 failures each attempt from this address waits, 1 s then doubling: the first
    # attempt sent sooner is refused (a slow machine may fit a few failures in between).
    statuses = []
    for _ in range(10):
        response = await anon.post("/api/auth/login", json={**credentials, "password": "nope"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[:4] == [401] * 4 and statuses[-1] == 429, statuses
    throttled = response
    assert error_of(throttled)["code"] == "rate_limited"
    assert error_of(throttled)["message"].startswith(
        "too many failed sign-in attempts for this account from your address; try again in "
    )
    wait = int(throttled.headers["retry-after"])
    assert 1 <= wait <= 32
    await asyncio.sleep(wait)  # a delay, not a lockout: the right password then works
    assert (await anon.post("/api/auth/login", json=credentials)).status_code == 200


async def test_other_bad_inputs(users: dict[str, Client], anon: Client) -> None:
    a = users["a"]
    assert (await anon.post("/api/auth/register", json={"email": "x"})).status_code == 422
    weak = await anon.post("/api/auth/register", json={"email": "n@example.com", "password": "1"})
    assert weak.status_code == 422 and error_of(weak)["field"] == "password"
    dup = await anon.post(
        "/api/auth/register", json={"email": "A@example.com", "password": "correct-horse-battery"}
    )
    assert dup.status_code == 409
    assert (
        await anon.post("/api/auth/login", json={"email": 1, "password": []})
    ).status_code == 422

    unknown_field = await a.post("/api/jobs", json=http_job(color="blue"))
    assert unknown_field.status_code == 422 and error_of(unknown_field)["field"] == "color"
    bad_retry = await a.post("/api/jobs", json=http_job(retry={"maxAttempts": "three"}))
    assert error_of(bad_retry)["field"] == "retry.maxAttempts"
    private = await a.post(
        "/api/jobs", json=http_job(http={"method": "GET", "url": "http://127.0.0.1:9/"})
    )
    assert private.status_code == 422 and error_of(private)["field"] == "http.url"

    job = (await a.post("/api/jobs", json=http_job())).json()
    type_change = await a.patch(f"/api/jobs/{job['id']}", json={"type": "script"})
    assert type_change.status_code == 422 and error_of(type_change)["field"] == "type"
    catch_up = await a.post(f"/api/jobs/{job['id']}/resume", json={"catchUp": "yes"})
    assert catch_up.status_code == 422 and error_of(catch_up)["field"] == "catchUp"

    for params, field in (
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"status": "exploded"}, "status"),
        ({"jobId": "x"}, "jobId"),
        ({"since": "yesterday"}, "since"),
    ):
        response = await a.get("/api/runs", params=params)
        assert response.status_code == 422, params
        assert error_of(response)["field"] == field
    for params, field in (({"paused": "maybe"}, "paused"), ({"type": "ftp"}, "type")):
        response = await a.get("/api/jobs", params=params)
        assert response.status_code == 422 and error_of(response)["field"] == field

    run = (await a.post(f"/api/jobs/{job['id']}/trigger")).json()
    assert (await a.post(f"/api/runs/{run['id']}/retry")).status_code == 409  # still queued
    assert (await a.post(f"/api/runs/{run['id']}/cancel")).status_code == 200
    twice = await a.post(f"/api/runs/{run['id']}/cancel")
    assert twice.status_code == 409 and error_of(twice)["code"] == "conflict"
    bad_logs = await a.get(f"/api/runs/{run['id']}/logs", params={"afterSeq": "-1"})
    assert bad_logs.status_code == 422 and error_of(bad_logs)["field"] == "afterSeq"


async def test_text_no_database_can_store(users: dict[str, Client], anon: Client) -> None:
    """NUL (PostgreSQL text cannot hold it) and lone surrogates: 422 naming the field."""
    a = users["a"]
    nul = await a.post("/api/jobs", json=http_job("bad\x00name"))
    assert nul.status_code == 422 and error_of(nul)["field"] == "name"
    header = {"X-Trace": "a\x00b"}
    nested = await a.post(
        "/api/jobs", json=http_job(http={"url": "https://x.io", "headers": header})
    )
    assert nested.status_code == 422 and error_of(nested)["field"] == "http.headers.X-Trace"
    surrogate = b'{"type": "http", "name": "x", "description": "\\ud800", "schedule": "@daily"}'
    response = await a.post(
        "/api/jobs", content=surrogate, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and error_of(response)["field"] == "description"
    assert "surrogate" in error_of(response)["message"]
    email = await anon.post(
        "/api/auth/register", json={"email": "a\x00@example.com", "password": "x" * 12}
    )
    assert email.status_code == 422 and error_of(email)["field"] == "email"
    token = await a.post("/api/tokens", json={"name": "\x00"})
    assert token.status_code == 422 and error_of(token)["field"] == "name"
    search = await a.get("/api/jobs", params={"search": "a\x00"})
    assert search.status_code == 422 and error_of(search)["field"] == "search"


async def test_unknown_paths_and_methods(anon: Client, api_url: str) -> None:
    missing = await anon.get("/api/does-not-exist")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    slash = await anon.get("/api/")
    assert slash.status_code == 404 and error_of(slash)["code"] == "not_found"
    wrong = await anon.request("PUT", "/api/jobs")
    assert wrong.status_code == 405
    assert error_of(wrong)["code"] == "method_not_allowed"
    assert set(wrong.headers["allow"].split(", ")) >= {"GET", "POST"}
    async with httpx.AsyncClient(base_url=api_url) as raw:
        # A path that no route knows answers JSON even for odd methods and bodies.
        odd = await raw.request("DELETE", "/api/auth/login", content=b"\x00" * 10)
        assert odd.status_code == 405
        error_of(odd)
