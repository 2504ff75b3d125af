"""`/graphql` over HTTP: requests that cannot carry an operation get a 4xx in the GraphQL
error shape, and input values that are not of their type are named by their input path.

Every case here answered a 500 with a traceback in the log, plain text, or (300 MiB body)
took 1.2 GB of memory. Runs against the session's `dts api` on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.rest.conftest import (  # noqa: F401  (the REST tests' live servers and accounts)
    Client,
    api_url,
    password_hash,
    postgres_api,
    sqlite_api,
    users,
)

MiB = 1024 * 1024


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


def refusal(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error of a refused request, checked for the GraphQL error shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"}, body
    [error] = body["errors"]
    assert set(error) == {"message", "extensions"}
    assert error["extensions"]["code"] == code
    assert "Traceback" not in response.text
    return dict(error)


async def post(http: httpx.AsyncClient, content: bytes, **headers: str) -> httpx.Response:
    return await http.post(
        "/graphql", content=content, headers={"content-type": "application/json", **headers}
    )


async def test_a_body_over_one_mebibyte_is_413(http: httpx.AsyncClient) -> None:
    huge = json.dumps({"query": "{ signupOpen }", "variables": {"x": "x" * MiB}}).encode()
    error = refusal(await post(http, huge), 413, "payload_too_large")
    assert "1 MiB" in error["message"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: capped while streaming
        yield b'{"query": "{ signupOpen }", "variables": {"x": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}}'

    streamed = await http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    refusal(streamed, 413, "payload_too_large")
    just_under = json.dumps({"query": "{ signupOpen }", "variables": {"x": "x" * (MiB - 100)}})
    assert (await post(http, just_under.encode())).json() == {"data": {"signupOpen": True}}


async def test_a_huge_upload_is_refused_without_being_read(api_url: str) -> None:  # noqa: F811
    """300 MiB were read into memory (1.2 GB RSS); now reading stops at the cap."""
    address = urlsplit(api_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = asyncio.create_task(reader.read(4096))
    chunk = b"%x\r\n%s\r\n" % (MiB, b" " * MiB)
    sent = 0
    try:
        while not answer.done() and sent < 300 * MiB:
            writer.write(chunk)
            await writer.drain()
            sent += MiB
            await asyncio.sleep(0.01)  # drain() need not yield: let the answer arrive
    except ConnectionError:
        pass  # the server answered and closed while we were still sending
    head = await asyncio.wait_for(answer, 30)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert sent < 64 * MiB, f"the server read {sent // MiB} MiB before refusing"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code", "message"),
    [
        (b'{"query": "{ signupOpen \xff }"}', "application/json", 400, "bad_request", "UTF-8"),
        (b'{"query": "{ signupOpen }"}', "text/plain", 415, "unsupported_media_type", "JSON"),
        (b"query=%7BsignupOpen%7D", "application/x-www-form-urlencoded", 415, None, None),
        (b'[{"query": "{ signupOpen }"}]', "application/json", 400, "bad_request", "batched"),
        (b'{"query": ', "application/json", 400, "bad_request", "line 1 column 11"),
        (b'"{ signupOpen }"', "application/json", 400, "bad_request", "a JSON object"),
        (b"", "application/json", 400, "bad_request", "empty"),
        (b"{}", "application/json", 400, "bad_request", "no operation"),
        (b'{"query": 5}', "application/json", 400, "bad_request", "query must be a string"),
        (b'{"query": "{ signupOpen }", "variables": []}', "application/json", 400, None, None),
        (b'{"query": "{ signupOpen }", "x": NaN}', "application/json", 400, None, "NaN"),
        (
            b'{"query": "{ signupOpen }", "variables": {"a": ' + b"[" * 100_000 + b"]" * 100_000,
            "application/json",
            400,
            "bad_request",
            "levels deep",
        ),
        (
            b'{"query": "query($a: String) { signupOpen }", "variables": {"a": '
            + b"[" * 40
            + b"]" * 40
            + b"}}",
            "application/json",
            400,
            "bad_request",
            "more than 32 levels deep",
        ),
        (
            b'{"query": "subscription { jobEvents { eventId } }"}',
            "application/json",
            400,
            "bad_request",
            "graphql-transport-ws",
        ),
    ],
)
async def test_requests_that_cannot_carry_an_operation(
    http: httpx.AsyncClient,
    content: bytes,
    content_type: str,
    status: int,
    code: str | None,
    message: str | None,
) -> None:
    response = await http.post("/graphql", content=content, headers={"content-type": content_type})
    error = refusal(
        response, status, code or ("unsupported_media_type" if status == 415 else "bad_request")
    )
    if message:
        assert message in error["message"]


async def test_get_reads_only_and_never_subscribes(http: httpx.AsyncClient) -> None:
    ok = await http.get("/graphql", params={"query": "{ signupOpen }"})
    assert ok.json() == {"data": {"signupOpen": True}}
    mutation = await http.get(
        "/graphql", params={"query": 'mutation { logout(refreshToken: "x") }'}
    )
    assert (
        refusal(mutation, 405, "method_not_allowed")["message"]
        == "mutations must be sent with POST"
    )
    assert mutation.headers["allow"] == "POST"
    subscription = await http.get(
        "/graphql", params={"query": "subscription { jobEvents { eventId } }"}
    )
    assert "websocket" in refusal(subscription, 400, "bad_request")["message"]
    deep = await http.get(
        "/graphql", params={"query": "{ signupOpen }", "variables": "[" * 40 + "]" * 40}
    )
    assert "levels deep" in refusal(deep, 400, "bad_request")["message"]


RUNS_SINCE = "query($t: DateTime) { runs(since: $t) { edges { node { id } } } }"
PREVIEW_FROM = 'query($t: DateTime) { previewSchedule(cron: "@daily", from: $t) { timezone } }'
CREATE = "mutation($input: JobInput!) { createJob(input: $input) { id } }"


async def graphql(client: Client, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    assert "Traceback" not in response.text
    return dict(response.json())


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    return dict(error)


@pytest.mark.parametrize(
    ("instant", "problem"),
    [
        ("0001-01-01T00:00:00+05:00", "outside the years 1 to 9999"),
        ("9999-12-31T23:59:59-05:00", "outside the years 1 to 9999"),
        ("2026-03-29T02:30:00", "no UTC offset"),
        ("next tuesday", "not an ISO 8601 time"),
    ],
)
async def test_times_that_are_no_instant_are_named_by_their_field(
    users: dict[str, Client],  # noqa: F811
    instant: str,
    problem: str,
) -> None:
    a = users["a"]
    job = {"type": "HTTP", "name": "once", "http": {"url": "https://example.com/"}}
    cases = [
        (graphql(a, RUNS_SINCE, t=instant), "since"),
        (graphql(a, PREVIEW_FROM, t=instant), "from"),
        (graphql(a, CREATE, input={**job, "schedule": {"at": instant}}), "input.schedule.at"),
        (
            graphql(a, CREATE, input={**job, "schedule": {"everySeconds": 60, "anchor": instant}}),
            "input.schedule.anchor",
        ),
        (graphql(a, '{ runs(until: "' + instant + '") { edges { node { id } } } }'), "until"),
    ]
    for call, field in cases:
        error = only_error(await call)
        assert error["extensions"] == {"code": "validation_error", "field": field}, error
        assert problem in error["message"]


async def test_rest_refuses_the_same_times(users: dict[str, Client]) -> None:  # noqa: F811
    response = await users["a"].post(
        "/api/inspector/preview", json={"cron": "@daily", "from": "0001-01-01T00:00:00+05:00"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "from"
    assert "outside the years 1 to 9999" in response.json()["error"]["message"]
    runs = await users["a"].get("/api/runs", params={"until": "9999-12-31T23:59:59-05:00"})
    assert runs.status_code == 422 and runs.json()["error"]["field"] == "until"


async def test_a_json_body_nested_too_deeply_is_an_input_error(
    users: dict[str, Client],  # noqa: F811
) -> None:
    job = {
        "type": "HTTP",
        "name": "deep",
        "schedule": {"cron": "@daily"},
        "http": {
            "url": "https://example.com/",
            "bodyIsJson": True,
            "body": "[" * 100_000 + "]" * 100_000,
        },
    }
    error = only_error(await graphql(users["a"], CREATE, input=job))
    assert error["extensions"] == {"code": "validation_error", "field": "input.http.body"}
    assert "nests too deeply" in error["message"]


async def test_an_unknown_enum_value_is_named_by_its_field(
    users: dict[str, Client],  # noqa: F811
) -> None:
    error = only_error(await graphql(users["a"], CREATE, input={"type": "FTP", "name": "x"}))
    assert error["extensions"] == {"code": "validation_error", "field": "input.type"}


async def test_update_job_with_a_bad_id_names_id(users: dict[str, Client]) -> None:  # noqa: F811
    update = 'mutation($id: ID!) { updateJob(id: $id, input: {name: "x"}) { id } }'
    for bad in ("abc", "0", "-3", "9" * 30):
        error = only_error(await graphql(users["a"], update, id=bad))
        assert error["extensions"] == {"code": "validation_error", "field": "id"}, error
