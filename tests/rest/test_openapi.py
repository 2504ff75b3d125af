"""`/api/openapi.json` describes every route, and fuzzing from it never gets a 500."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from app.rest.openapi import document
from app.rest.routes import endpoints
from app.server import api_routes
from tests.factories import http_job
from tests.rest.conftest import Client


def test_every_route_is_documented_and_nothing_else() -> None:
    documented = {
        (path, method.upper())
        for path, operations in document()["paths"].items()
        for method in operations
    }
    routed = {
        (route.path, method)
        for route in [*endpoints(), *api_routes()]
        if isinstance(route, Route)
        and route.path.startswith("/api/")
        and "{path:path}" not in route.path
        for method in (route.methods or ())
        if method != "HEAD"
    }
    assert routed == documented


async def test_served_document(anon: Client) -> None:
    response = await anon.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json() == document()
    assert response.json()["openapi"] == "3.1.0"


CHECKS = [
    not_a_server_error,
    content_type_conformance,
    status_code_conformance,
    response_schema_conformance,
]


@pytest.mark.slow
async def test_fuzzing_gets_no_server_errors(users: dict[str, Client]) -> None:
    # Both engines: what one stores happily the other may refuse (NUL bytes on PostgreSQL).
    admin = users["admin"]
    job = (await admin.post("/api/jobs", json=http_job())).json()
    run = (await admin.post(f"/api/jobs/{job['id']}/trigger")).json()
    base_url = str(admin.http.base_url)
    schema = schemathesis.openapi.from_dict(document())
    failures: list[str] = []
    calls: list[str] = []
    token = st.sampled_from([admin.token, users["a"].token, users["viewer"].token, None])

    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), bearer=token, known=st.booleans())
        def probe(case: schemathesis.Case, bearer: str | None, known: bool) -> None:
            if known and case.path_parameters and "id" in case.path_parameters:
                case.path_parameters["id"] = run["id"] if "/runs/" in case.path else job["id"]
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            calls.append(case.operation.label)
            try:
                case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as error:  # collect all, show them together
                failures.append(f"{case.method} {case.formatted_path}: {error}"[:2000])

        await asyncio.to_thread(probe)  # schemathesis calls with blocking `requests`
    operations = sum(len(methods) for methods in document()["paths"].values())
    assert len(set(calls)) == operations  # every operation was probed
    assert not failures, "\n\n".join(failures[:10])
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get("/api/health")).status_code == 200
