"""Generated queries and mutations (hypothesis-graphql) against a live server: no 500s, no
stack traces, no unexpected internal errors — whatever a client sends."""

from __future__ import annotations

from datetime import UTC, datetime

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from app.graphql.sdl import schema_sdl
from tests.gql_client import register_mutation
from tests.live import LiveServer, dts_env

SCALARS = {
    "DateTime": st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: graphql.StringValueNode(value=d.isoformat())),
}
SDL = schema_sdl()


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("fuzz")
    live = LiveServer("up", dts_env(f"sqlite:///{folder}/fuzz.db"))
    try:
        live.wait_healthy()
        client = httpx.Client(base_url=live.url, timeout=30)
        reply = client.post(
            "/graphql",
            json={"query": register_mutation("fuzz@example.com")},
        )
        token = reply.json()["data"]["register"]["accessToken"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
        client.close()
    finally:
        live.stop()


def check(client: httpx.Client, query: str) -> None:
    response = client.post("/graphql", json={"query": query})
    assert response.status_code < 500, (query, response.text)
    assert "Traceback" not in response.text and 'File "' not in response.text
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code != "internal_error", (query, error)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(query=queries(SDL, custom_scalars=SCALARS))
def test_generated_queries_never_fail_badly(fuzz_server: httpx.Client, query: str) -> None:
    check(fuzz_server, query)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(query=mutations(SDL, custom_scalars=SCALARS))
def test_generated_mutations_never_fail_badly(fuzz_server: httpx.Client, query: str) -> None:
    check(fuzz_server, query)
