"""The OpenAPI document and the server agree on which request bodies are valid.

Third-party clients (schemathesis, generated clients) take `/api/openapi.json` at its word:
where it was looser than the server (empty strings, extra properties, `everywhere: {}`)
or stricter (a partial PATCH, `null` for a default), they sent what the server refused or
refused what it takes. Each edge input below is checked both ways: the document's schema
accepts it exactly when the server does not answer 400/422. Other refusals (401, 403, 404,
409) are about who asks or what exists, not about the shape, and count as accepted.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from app.rest.openapi import document
from tests.factories import PASSWORD, http_job
from tests.rest.conftest import Client

JOB = http_job()
PREVIEW = {"cron": "@daily"}
LONG = "x" * 2001

# (method, path as documented, body, what it probes)
CASES: list[tuple[str, str, Any, str]] = [
    # auth
    ("POST", "/api/auth/register", {"email": "", "password": PASSWORD}, "empty email"),
    ("POST", "/api/auth/register", {"email": "n@example.com", "password": ""}, "empty password"),
    ("POST", "/api/auth/register", {"email": 5, "password": PASSWORD}, "email not a string"),
    ("POST", "/api/auth/register", {"email": "n@example.com"}, "no password"),
    ("POST", "/api/auth/register", {"email": "n@example.com", "password": PASSWORD}, "fine"),
    ("POST", "/api/auth/login", {"email": "", "password": "x"}, "empty email"),
    ("POST", "/api/auth/login", {"email": "a@example.com", "password": ""}, "empty password"),
    ("POST", "/api/auth/login", {"email": "nobody@example.com", "password": "wrong"}, "fine"),
    ("POST", "/api/auth/login", {"email": "a@example.com", "password": "x", "y": 1}, "extra"),
    ("POST", "/api/auth/refresh", {"refreshToken": ""}, "empty token"),
    ("POST", "/api/auth/refresh", {"refreshToken": 5}, "token not a string"),
    ("POST", "/api/auth/refresh", {}, "no token"),
    ("POST", "/api/auth/refresh", {"refreshToken": "not-a-token"}, "fine (401)"),
    ("POST", "/api/auth/logout", {"everywhere": {}}, "everywhere not a boolean"),
    ("POST", "/api/auth/logout", {"everywhere": "yes"}, "everywhere not a boolean"),
    ("POST", "/api/auth/logout", {"refreshToken": 5}, "token not a string"),
    ("POST", "/api/auth/logout", {"everywhere": False}, "fine"),
    ("POST", "/api/auth/logout", {}, "fine"),
    ("POST", "/api/auth/forgot", {"email": ""}, "empty email"),
    ("POST", "/api/auth/forgot", {}, "no email"),
    ("POST", "/api/auth/reset", {"token": "", "password": PASSWORD}, "empty token"),
    ("POST", "/api/auth/reset", {"token": "t", "password": ""}, "empty password"),
    # tokens
    ("POST", "/api/tokens", {"name": ""}, "empty name"),
    ("POST", "/api/tokens", {"name": "x" * 201}, "name too long"),
    ("POST", "/api/tokens", {"name": "ci", "scope": "admin"}, "unknown scope"),
    ("POST", "/api/tokens", {"name": "ci", "expiresAt": "tomorrow"}, "not a time"),
    ("POST", "/api/tokens", {"name": "ci", "expiresAt": "2999-01-01T00:00:00"}, "no offset"),
    ("POST", "/api/tokens", {"name": "ci", "scope": "write"}, "fine"),
    # jobs
    ("POST", "/api/jobs", {**JOB, "name": ""}, "empty name"),
    ("POST", "/api/jobs", {**JOB, "name": "   "}, "blank name"),
    ("POST", "/api/jobs", {**JOB, "name": "x" * 201}, "name too long"),
    ("POST", "/api/jobs", {**JOB, "description": LONG}, "description too long"),
    ("POST", "/api/jobs", {**JOB, "extra": 1}, "extra property"),
    ("POST", "/api/jobs", {**JOB, "type": None}, "type null"),
    ("POST", "/api/jobs", {**JOB, "schedule": ""}, "empty cron"),
    ("POST", "/api/jobs", {**JOB, "schedule": "* " * 600}, "cron too long"),
    ("POST", "/api/jobs", {**JOB, "schedule": {}}, "empty schedule object"),
    ("POST", "/api/jobs", {**JOB, "schedule": {"cron": "@daily", "everySeconds": 60}}, "two"),
    ("POST", "/api/jobs", {**JOB, "schedule": {"cron": "@daily", "x": 1}}, "extra in schedule"),
    ("POST", "/api/jobs", {**JOB, "schedule": {"everySeconds": 0.5}}, "interval too short"),
    ("POST", "/api/jobs", {**JOB, "schedule": {"everySeconds": 60}}, "fine"),
    ("POST", "/api/jobs", {**JOB, "schedule": {"at": "2999-01-01T00:00:00"}}, "at, no offset"),
    ("POST", "/api/jobs", {**JOB, "timezone": ""}, "empty timezone"),
    ("POST", "/api/jobs", {**JOB, "timezone": None}, "timezone null: UTC"),
    ("POST", "/api/jobs", {**JOB, "http": {"url": ""}}, "empty url"),
    ("POST", "/api/jobs", {**JOB, "http": {"url": "https://example.com/", "x": 1}}, "extra"),
    ("POST", "/api/jobs", {**JOB, "http": {"url": "https://e.com/", "method": "get"}}, "lower"),
    ("POST", "/api/jobs", {**JOB, "http": {"url": "https://e.com/", "method": "BREW"}}, "method"),
    ("POST", "/api/jobs", {**JOB, "http": {"url": "https://e.com/", "headers": {"X": 5}}}, "h"),
    ("POST", "/api/jobs", {**JOB, "http": {"url": "https://e.com/", "successStatuses": [99]}}, "s"),
    ("POST", "/api/jobs", {**JOB, "retry": {"maxAttempts": 0}}, "no attempts"),
    ("POST", "/api/jobs", {**JOB, "retry": {"maxAttempts": 3, "x": 1}}, "extra in retry"),
    ("POST", "/api/jobs", {**JOB, "retry": {"multiplier": 0.5}}, "multiplier below 1"),
    ("POST", "/api/jobs", {**JOB, "retry": {"initialDelay": -1}}, "negative delay"),
    ("POST", "/api/jobs", {**JOB, "timeoutSeconds": 0}, "no time to run"),
    ("POST", "/api/jobs", {**JOB, "startingDeadlineSeconds": 0}, "deadline 0"),
    ("POST", "/api/jobs", {**JOB, "startingDeadlineSeconds": None}, "no deadline"),
    ("POST", "/api/jobs", {**JOB, "misfireLimit": 0}, "misfire limit 0"),
    ("POST", "/api/jobs", {**JOB, "concurrency": "ALLOW"}, "policy in capitals"),
    ("POST", "/api/jobs", {**JOB, "paused": "yes"}, "paused not a boolean"),
    ("POST", "/api/jobs", JOB, "fine"),
    ("PATCH", "/api/jobs/{id}", {}, "nothing to change"),
    ("PATCH", "/api/jobs/{id}", {"name": "renamed"}, "one field"),
    ("PATCH", "/api/jobs/{id}", {"paused": True}, "pause through PATCH"),
    ("PATCH", "/api/jobs/{id}", {"name": ""}, "empty name"),
    ("PATCH", "/api/jobs/{id}", {"extra": 1}, "extra property"),
    ("POST", "/api/jobs/{id}/resume", {"catchUp": "yes"}, "catchUp not a boolean"),
    ("POST", "/api/jobs/{id}/resume", {"catchUp": True}, "fine"),
    ("POST", "/api/jobs/{id}/pause", [1], "not an object"),
    ("POST", "/api/jobs/{id}/pause", {"anything": 1}, "fine"),
    # inspector
    ("POST", "/api/inspector/preview", {"cron": ""}, "empty cron"),
    ("POST", "/api/inspector/preview", {"cron": "* " * 600}, "cron too long"),
    ("POST", "/api/inspector/preview", {"cron": None}, "cron null"),
    ("POST", "/api/inspector/preview", {}, "no cron"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "timezone": ""}, "empty timezone"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "timezone": None}, "timezone null: UTC"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "count": None}, "count null: 10"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "count": 0}, "count 0"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "count": 2.0}, "a whole float"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "count": 2.5}, "a fraction"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "zones": None}, "zones null"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "zones": ["UTC"] * 11}, "11 zones"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "zones": [""]}, "empty zone"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "from": "2026-01-01T00:00:00"}, "naive"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "from": None}, "from null: now"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "x": 1}, "extra property"),
    ("POST", "/api/inspector/preview", {**PREVIEW, "zones": ["Asia/Tokyo"]}, "fine"),
]


def body_schema(method: str, path: str) -> dict[str, Any]:
    doc = document()
    operation = doc["paths"][path][method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return {**schema, "components": doc["components"]}


def document_accepts(method: str, path: str, body: Any) -> bool:
    validator = jsonschema_rs.validator_for(body_schema(method, path), validate_formats=True)
    return bool(validator.is_valid(body))


def test_every_case_has_a_documented_body() -> None:
    for method, path, _body, _what in CASES:
        body_schema(method, path)  # raises KeyError when the document has none


async def test_document_and_server_agree(users: dict[str, Client]) -> None:
    admin = users["admin"]
    created = await admin.post("/api/jobs", json=http_job(name="probe"))
    job_id = created.json()["id"]
    disagreements: list[str] = []
    for method, path, body, what in CASES:
        response = await admin.request(method, path.replace("{id}", str(job_id)), json=body)
        assert response.status_code < 500, response.text
        server = response.status_code not in (400, 422)
        documented = document_accepts(method, path, body)
        if server != documented:
            said = f"{response.status_code} {response.text[:150]}"
            disagreements.append(
                f"{method} {path} {what}: document {'accepts' if documented else 'refuses'}, "
                f"server {said}"
            )
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize("name", ["JobInput", "JobPatch", "PreviewInput"])
def test_closed_objects_say_so(name: str) -> None:
    """Objects whose unknown fields the server refuses are closed in the document too."""
    schemas = document()["components"]["schemas"]
    assert schemas[name]["additionalProperties"] is False
