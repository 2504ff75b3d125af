"""`GET /api/openapi.json`: the REST API described by hand as OpenAPI 3.1.

Written out rather than generated, so it says what clients may rely on (the shapes in
`app/rest/shapes.py`, the errors of `app/rest/errors.py`), not what a framework guessed.
A test checks that every route in `app/rest/routes.py` appears here and the reverse, and
`tests/rest/test_openapi_agreement.py` that the request schemas accept exactly what the
validators accept: bounds come from the validators' own constants, so they cannot drift.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from app import __version__
from app.db.models import RUN_STATUSES
from app.domain.job_input import (
    CONCURRENCY_POLICIES,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TIMEOUT_SECONDS,
    MISFIRE_POLICIES,
)
from app.domain.job_spec import HTTP_METHODS, MAX_SUCCESS_STATUSES, MAX_URL_LENGTH
from app.domain.retry import (
    DEFAULT_INITIAL_DELAY,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_DELAY,
    DEFAULT_MULTIPLIER,
    MAX_ATTEMPTS,
    MAX_DELAY,
    MAX_MULTIPLIER,
)
from app.domain.schedule import (
    MAX_COUNT,
    MAX_CRON_LENGTH,
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
)
from app.rest.request import MAX_BODY_BYTES
from app.services.api_tokens import MAX_NAME_LENGTH as MAX_TOKEN_NAME_LENGTH
from app.services.inspector import MAX_ZONES
from app.services.runs import MAX_PAGE

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


STRING: Schema = {"type": "string"}
TEXT: Schema = {"type": "string", "minLength": 1}  # the server refuses an empty string
NAMED: Schema = {"type": "string", "pattern": "\\S"}  # and a blank one, where it strips
INSTANT: Schema = {"type": "string", "format": "date-time"}
ZONE: Schema = {"type": "string", "minLength": 1, "example": "Europe/Berlin"}
CRON: Schema = {
    "type": "string",
    "pattern": "\\S",
    "maxLength": MAX_CRON_LENGTH,
    "example": "*/2 * * * *",
}
ID: Schema = {"type": "integer", "minimum": 1}
BOOL: Schema = {"type": "boolean"}
NUMBER: Schema = {"type": "number"}


def items_of(item: Schema) -> Schema:
    """A list answer: `{"items": [...]}`."""
    return obj({"items": {"type": "array", "items": item}})


def page_of(name: str, *, required: bool = True) -> Schema:
    """A page of `name`s: pass `nextCursor` as `cursor` for the next one."""
    return obj(
        {"items": {"type": "array", "items": ref(name)}, "nextCursor": nullable(STRING)},
        ["items", "nextCursor"] if required else None,
    )


HEADER_VALUE: Schema = {"type": ["string", "number"], "description": "a number is sent as text"}
JOB_FIELDS: dict[str, Schema] = {
    "type": {"type": "string", "enum": ["http", "script"]},
    "name": {**NAMED, "maxLength": MAX_NAME_LENGTH},
    "description": {"type": "string", "maxLength": MAX_DESCRIPTION_LENGTH},
    "schedule": ref("Schedule"),
    "timezone": {
        **nullable(ZONE),
        "default": "UTC",
        "description": "IANA zone name the cron string is read in",
    },
    "http": ref("HttpSpec"),
    "script": ref("ScriptSpec"),
    "retry": ref("Retry"),
    "timeoutSeconds": {**NUMBER, "minimum": 1, "maximum": MAX_TIMEOUT_SECONDS},
    "concurrency": {"type": "string", "enum": list(CONCURRENCY_POLICIES)},
    "misfire": {"type": "string", "enum": list(MISFIRE_POLICIES)},
    "misfireLimit": {"type": "integer", "minimum": 1, "maximum": 1000},
    "startingDeadlineSeconds": nullable({**NUMBER, "minimum": 1, "maximum": 7 * 86400}),
    "paused": BOOL,
}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {
                        "type": "string",
                        "description": "stable machine-readable code, e.g. validation_error",
                    },
                    "message": {"type": "string", "description": "what was wrong, for people"},
                    "field": nullable(
                        {"type": "string", "description": "dotted input path: schedule.cron"}
                    ),
                },
                ["code", "message", "field"],
            )
        },
        ["error"],
    ),
    "User": obj(
        {
            "id": ID,
            "email": STRING,
            "role": {"type": "string", "enum": ["admin", "member", "viewer"]},
            "disabled": BOOL,
            "createdAt": nullable(INSTANT),
        },
        ["id", "email", "role"],
    ),
    "Me": {
        "allOf": [
            ref("User"),
            obj({"viaApiToken": BOOL, "scope": {"type": "string", "enum": ["read", "write"]}}),
        ]
    },
    "Credentials": obj(
        {"email": {**TEXT, "example": "ada@example.com"}, "password": TEXT},
        ["email", "password"],
    ),
    "Session": obj(
        {
            "token": {"type": "string", "description": "the access token (the brief's name)"},
            "accessToken": STRING,
            "refreshToken": STRING,
            "tokenType": {"type": "string", "enum": ["Bearer"]},
            "expiresIn": {"type": "integer", "description": "seconds"},
            "user": ref("User"),
        },
        ["token", "accessToken", "refreshToken", "expiresIn", "user"],
    ),
    "Ok": obj({"ok": BOOL, "message": STRING}, ["ok"]),
    "Retry": obj(
        {
            "maxAttempts": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_ATTEMPTS,
                "default": DEFAULT_MAX_ATTEMPTS,
            },
            "initialDelay": {
                **NUMBER,
                "minimum": 0,
                "maximum": MAX_DELAY,
                "default": DEFAULT_INITIAL_DELAY,
                "description": "seconds of backoff after the first failure (the wait is "
                "between half of it and all of it)",
            },
            "maxDelay": {
                **NUMBER,
                "minimum": 0,
                "maximum": MAX_DELAY,
                "default": DEFAULT_MAX_DELAY,
                "description": "seconds, at least initialDelay",
            },
            "multiplier": {
                **NUMBER,
                "minimum": 1,
                "maximum": MAX_MULTIPLIER,
                "default": DEFAULT_MULTIPLIER,
            },
        },
        additionalProperties=False,
        description="left out on create: the defaults (3 attempts, retries after 15-30 s, "
        "then 1-2 min); on update: unchanged",
    ),
    "Schedule": {
        "description": "a cron string (read in `timezone`), or one of the schedule objects",
        "anyOf": [
            CRON,
            obj(
                {"cron": CRON, "timezone": nullable(ZONE), "kind": {"const": "cron"}},
                ["cron"],
                additionalProperties=False,
            ),
            obj(
                {
                    "everySeconds": {
                        **NUMBER,
                        "minimum": MIN_INTERVAL_SECONDS,
                        "maximum": MAX_INTERVAL_SECONDS,
                    },
                    "anchor": nullable(INSTANT),
                    "timezone": nullable(ZONE),
                    "kind": {"const": "interval"},
                },
                ["everySeconds"],
                additionalProperties=False,
            ),
            obj(
                {"at": INSTANT, "timezone": nullable(ZONE), "kind": {"const": "at"}},
                ["at"],
                additionalProperties=False,
            ),
        ],
    },
    "HttpHeader": obj(
        {"name": TEXT, "value": HEADER_VALUE, "secret": BOOL},
        ["name", "value"],
        additionalProperties=False,
    ),
    "HttpSpec": obj(
        {
            "method": {
                "type": "string",
                "enum": [*HTTP_METHODS, *(m.lower() for m in HTTP_METHODS)],
                "description": "either case",
            },
            "url": {
                "type": "string",
                "pattern": "\\S",
                "maxLength": MAX_URL_LENGTH,
                "example": "https://example.com/hook",
            },
            "headers": {
                "description": "{name: value}, or a list of {name, value, secret}; secret "
                "values are encrypted at rest and shown as ••••••",
                "anyOf": [
                    {"type": "object", "additionalProperties": HEADER_VALUE},
                    {"type": "array", "items": ref("HttpHeader")},
                    {"type": "null"},
                ],
            },
            "body": {"description": "text, or any JSON value (sent as application/json)"},
            "successStatuses": nullable(
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 100, "maximum": 599},
                    "maxItems": MAX_SUCCESS_STATUSES,
                    "description": "accepted besides 2xx",
                }
            ),
            "followRedirects": BOOL,
        },
        ["url"],
        additionalProperties=False,
    ),
    "ScriptSpec": obj(
        {
            "command": {"type": "string", "example": "node"},
            "args": {"type": "array", "items": STRING, "example": ["scripts/hello.js"]},
            "cwd": {"type": "string", "example": "./", "description": "inside DTS_SCRIPT_ROOT"},
            "env": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        ["command"],
        additionalProperties=False,
    ),
    "JobInput": obj(
        JOB_FIELDS,
        ["type", "name", "schedule"],
        additionalProperties=False,
        description="script jobs need the admin role; give `http` or `script` to match `type`",
        example={
            "type": "script",
            "name": "hello-script",
            "schedule": "*/2 * * * *",
            "timezone": "UTC",
            "script": {"command": "node", "args": ["scripts/hello.js"], "cwd": "./"},
        },
    ),
    "JobPatch": obj(
        JOB_FIELDS,
        additionalProperties=False,
        description="any subset of the job's fields; `type` cannot change",
        example={"paused": True},
    ),
    "Job": obj(
        {
            "id": ID,
            "name": STRING,
            "description": STRING,
            "type": {"type": "string", "enum": ["http", "script"]},
            "schedule": ref("Schedule"),
            "scheduleKind": {"type": "string", "enum": ["cron", "interval", "at"]},
            "timezone": STRING,
            "http": ref("HttpSpec"),
            "script": ref("ScriptSpec"),
            "retry": ref("Retry"),
            "timeoutSeconds": NUMBER,
            "concurrency": STRING,
            "misfire": STRING,
            "misfireLimit": {"type": "integer"},
            "startingDeadlineSeconds": nullable(NUMBER),
            "paused": BOOL,
            "nextRunAt": nullable(INSTANT),
            "ownerId": ID,
            "version": {"type": "integer"},
            "createdAt": INSTANT,
            "updatedAt": INSTANT,
        },
        ["id", "name", "type", "schedule", "timezone", "retry", "paused", "ownerId"],
    ),
    "Run": obj(
        {
            "id": ID,
            "jobId": ID,
            "scheduledFor": INSTANT,
            "attempt": {"type": "integer", "minimum": 1},
            "rootRunId": nullable(ID),
            "trigger": {"type": "string", "enum": ["schedule", "manual", "retry"]},
            "status": {"type": "string", "enum": list(RUN_STATUSES)},
            "queuedAt": nullable(INSTANT),
            "startedAt": nullable(INSTANT),
            "finishedAt": nullable(INSTANT),
            "durationMs": nullable({"type": "integer"}),
            "httpStatus": nullable({"type": "integer"}),
            "exitCode": nullable({"type": "integer"}),
            "error": nullable(STRING),
            "output": nullable(STRING),
            "outputClipped": {
                "type": "boolean",
                "description": f"lists carry the first {4096} characters of output",
            },
            "workerId": nullable(STRING),
            "cancelRequested": BOOL,
            "logLines": {"type": "integer"},
            "logTruncated": BOOL,
        },
        ["id", "jobId", "scheduledFor", "attempt", "trigger", "status"],
    ),
    "JobPage": page_of("Job"),
    "RunPage": page_of("Run"),
    "LogLine": obj(
        {
            "seq": {"type": "integer"},
            "ts": INSTANT,
            "stream": {"type": "string", "enum": ["stdout", "stderr", "system"]},
            "text": STRING,
        },
        ["seq", "ts", "stream", "text"],
    ),
    "LogPage": obj(
        {
            "runId": ID,
            "status": STRING,
            "items": {"type": "array", "items": ref("LogLine")},
            "lastSeq": {"type": "integer", "description": "pass as afterSeq to continue"},
            "logTruncated": BOOL,
        },
        ["runId", "status", "items", "lastSeq"],
    ),
    "PreviewInput": obj(
        {
            "cron": CRON,
            "timezone": {**nullable(ZONE), "default": "UTC"},
            "count": {
                **nullable({"type": "integer", "minimum": 1, "maximum": MAX_COUNT}),
                "default": 10,
            },
            "from": {**nullable(INSTANT), "description": "default: now"},
            "zones": nullable({"type": "array", "items": ZONE, "maxItems": MAX_ZONES}),
        },
        ["cron"],
        additionalProperties=False,
        example={"cron": "*/2 * * * *", "timezone": "UTC", "count": 5},
    ),
    "Occurrence": obj(
        {
            "utc": {"type": "string", "example": "2026-03-29T01:00:00Z"},
            "local": {"type": "string", "example": "2026-03-29T03:00:00+02:00"},
            "offset": {"type": "string", "example": "+02:00"},
            "abbreviation": nullable(STRING),
            "timezone": STRING,
            "note": nullable(
                {
                    "type": "string",
                    "description": "set when DST moved or doubled this time",
                }
            ),
            "dstShifted": BOOL,
            "zones": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        ["utc", "local", "offset", "note", "dstShifted", "zones"],
    ),
    "Preview": obj(
        {
            "jobId": ID,
            "paused": BOOL,
            "cron": nullable(STRING),
            "timezone": STRING,
            "description": {"type": "string", "example": "At 02:30 every day"},
            "from": STRING,
            "count": {"type": "integer"},
            "occurrences": {"type": "array", "items": ref("Occurrence")},
        },
        ["cron", "timezone", "description", "from", "occurrences"],
    ),
    "ApiToken": obj(
        {
            "id": ID,
            "name": STRING,
            "prefix": STRING,
            "scope": {"type": "string", "enum": ["read", "write"]},
            "userId": ID,
            "createdAt": nullable(INSTANT),
            "expiresAt": nullable(INSTANT),
            "lastUsedAt": nullable(INSTANT),
            "revokedAt": nullable(INSTANT),
        },
        ["id", "name", "prefix", "scope"],
    ),
    "NewApiToken": obj(
        {"token": {"type": "string", "description": "shown once"}, "apiToken": ref("ApiToken")},
        ["token", "apiToken"],
    ),
}

ERRORS = {
    "400": "malformed JSON or a body that is not application/json",
    "401": "no credentials, or credentials that are not valid",
    "403": "signed in, but the role or token scope does not allow it",
    "404": "not found, or not yours to see",
    "409": "conflicts with the current state",
    "413": f"the body is over {MAX_BODY_BYTES // 1024} KiB",
    "422": "input that breaks a rule; `field` names it",
    "429": "too many attempts; see Retry-After",
}


def response(description: str, schema: Schema | None = None) -> Schema:
    out: Schema = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def operation(
    summary: str,
    tag: str,
    ok: tuple[str, str, Schema | None],
    *,
    body: Schema | None = None,
    body_required: bool = True,
    params: list[Schema] | None = None,
    errors: tuple[str, ...] = ("400", "401", "404", "413", "422"),
    public: bool = False,
) -> Schema:
    status, description, schema = ok
    responses = {status: response(description, schema)}
    for code in errors:
        responses[code] = response(ERRORS[code], ref("Error"))
    op: Schema = {
        "summary": summary,
        "tags": [tag],
        "operationId": summary.lower().replace(" ", "_").replace("'", "").replace(",", ""),
        "responses": responses,
    }
    if body is not None:
        op["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": body}},
        }
    if params:
        op["parameters"] = params
    if public:
        op["security"] = [{}, {"bearer": []}]
    return op


def query(name: str, schema: Schema, description: str = "") -> Schema:
    param: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def path_param(description: str) -> Schema:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
        "description": description,
    }


JOB_ID = path_param("job id")
RUN_ID = path_param("run id")
LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50})
CURSOR = query("cursor", {"type": "string"}, "nextCursor of the previous page")
EMPTY = obj({})
CHANGE = ("400", "401", "403", "404", "409", "413", "422")


def action(
    summary: str,
    tag: str,
    ok: tuple[str, str, Schema | None],
    params: list[Schema],
    errors: tuple[str, ...] = CHANGE,
) -> Schema:
    """A POST that acts on one resource and takes no input (an empty body, or none)."""
    return operation(
        summary, tag, ok, params=params, body=EMPTY, body_required=False, errors=errors
    )


def paths() -> dict[str, Schema]:
    from app.rest.alerts import openapi_paths as alert_paths  # it uses this module's helpers

    return {
        "/api/health": {
            "get": {
                "summary": "Health",
                "tags": ["health"],
                "operationId": "health",
                "security": [{}],
                "responses": {
                    "200": response("the database is reachable and migrated"),
                    "503": response("the database is unreachable or not migrated"),
                },
            }
        },
        "/api/auth/register": {
            "post": operation(
                "Register",
                "auth",
                ("201", "the account (the first one is an admin)", obj({"user": ref("User")})),
                body=ref("Credentials"),
                errors=("400", "403", "409", "413", "422"),
                public=True,
            )
        },
        "/api/auth/login": {
            "post": operation(
                "Login",
                "auth",
                ("200", "a session", ref("Session")),
                body=ref("Credentials"),
                errors=("400", "401", "413", "422", "429"),
                public=True,
            )
        },
        "/api/auth/refresh": {
            "post": operation(
                "Refresh",
                "auth",
                ("200", "a new session; the refresh token sent is used up", ref("Session")),
                body=obj({"refreshToken": TEXT}, ["refreshToken"]),
                errors=("400", "401", "413", "422"),
                public=True,
            )
        },
        "/api/auth/logout": {
            "post": operation(
                "Logout",
                "auth",
                ("204", "signed out", None),
                body=obj({"refreshToken": nullable(STRING), "everywhere": nullable(BOOL)}),
                body_required=False,
                errors=("400", "401", "413", "422"),
                public=True,
            )
        },
        "/api/auth/forgot": {
            "post": operation(
                "Forgot password",
                "auth",
                ("202", "a reset link is mailed if the account exists", ref("Ok")),
                body=obj({"email": TEXT}, ["email"]),
                errors=("400", "413", "422", "429"),
                public=True,
            )
        },
        "/api/auth/reset": {
            "post": operation(
                "Reset password",
                "auth",
                ("200", "password changed", ref("Ok")),
                body=obj({"token": TEXT, "password": TEXT}, ["token", "password"]),
                errors=("400", "413", "422", "429"),
                public=True,
            )
        },
        "/api/auth/me": {
            "get": operation(
                "Me", "auth", ("200", "the signed-in user", ref("Me")), errors=("401",)
            )
        },
        "/api/jobs": {
            "get": operation(
                "List jobs",
                "jobs",
                ("200", "jobs you may read, newest first", ref("JobPage")),
                params=[
                    query("type", {"type": "string", "enum": ["http", "script"]}),
                    query("paused", {"type": "boolean"}),
                    query("search", {"type": "string", "maxLength": 200}, "in the name"),
                    query("ownerId", ID),
                    LIMIT,
                    CURSOR,
                ],
                errors=("401", "422"),
            ),
            "post": operation(
                "Create job",
                "jobs",
                ("201", "the job", ref("Job")),
                body=ref("JobInput"),
                errors=("400", "401", "403", "413", "422"),
            ),
        },
        "/api/jobs/{id}": {
            "get": operation(
                "Get job",
                "jobs",
                ("200", "the job", ref("Job")),
                params=[JOB_ID],
                errors=("401", "404"),
            ),
            "patch": operation(
                "Update job",
                "jobs",
                ("200", "the changed job", ref("Job")),
                body=ref("JobPatch"),
                params=[JOB_ID],
                errors=CHANGE,
            ),
            "delete": operation(
                "Delete job",
                "jobs",
                ("204", "deleted with its history", None),
                params=[JOB_ID],
                errors=("401", "403", "404"),
            ),
        },
        "/api/jobs/{id}/trigger": {
            "post": action(
                "Trigger job", "jobs", ("201", "the queued (or skipped) run", ref("Run")), [JOB_ID]
            )
        },
        "/api/jobs/{id}/pause": {
            "post": action("Pause job", "jobs", ("200", "the paused job", ref("Job")), [JOB_ID])
        },
        "/api/jobs/{id}/resume": {
            "post": operation(
                "Resume job",
                "jobs",
                ("200", "the resumed job", ref("Job")),
                params=[JOB_ID],
                body=obj({"catchUp": BOOL}),
                body_required=False,
                errors=CHANGE,
            )
        },
        "/api/runs": {
            "get": operation(
                "List runs",
                "runs",
                ("200", "runs you may read, newest first", ref("RunPage")),
                params=[
                    query("jobId", ID),
                    query("status", {"type": "string"}, "comma-separated: failed,lost"),
                    query("since", INSTANT, "scheduled at or after"),
                    query("until", INSTANT, "scheduled before"),
                    LIMIT,
                    CURSOR,
                ],
                errors=("401", "422"),
            )
        },
        "/api/runs/{id}": {
            "get": operation(
                "Get run",
                "runs",
                ("200", "the run", ref("Run")),
                params=[RUN_ID],
                errors=("401", "404"),
            )
        },
        "/api/runs/{id}/logs": {
            "get": operation(
                "Run logs",
                "runs",
                ("200", "log lines after afterSeq", ref("LogPage")),
                params=[
                    RUN_ID,
                    query("afterSeq", {"type": "integer", "minimum": 0, "default": 0}),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 5000}),
                ],
                errors=("401", "404", "422"),
            )
        },
        "/api/runs/{id}/cancel": {
            "post": action(
                "Cancel run",
                "runs",
                ("200", "the run (a running run stops within seconds)", ref("Run")),
                [RUN_ID],
            )
        },
        "/api/runs/{id}/retry": {
            "post": action("Retry run", "runs", ("201", "the new attempt", ref("Run")), [RUN_ID])
        },
        "/api/inspector/preview": {
            "post": operation(
                "Preview schedule",
                "inspector",
                ("200", "the next occurrences, DST notes included", ref("Preview")),
                body=ref("PreviewInput"),
                errors=("400", "401", "413", "422"),
                public=True,
            )
        },
        "/api/inspector/job/{id}": {
            "get": operation(
                "Preview job",
                "inspector",
                ("200", "the job's next occurrences", ref("Preview")),
                params=[
                    JOB_ID,
                    query("count", {"type": "integer", "minimum": 1, "maximum": MAX_COUNT}),
                    query("from", INSTANT, "default: now"),
                    query("zone", {"type": "string"}, "also show times in this zone"),
                ],
                errors=("401", "404", "422"),
            )
        },
        "/api/tokens": {
            "get": operation(
                "List API tokens",
                "tokens",
                (
                    "200",
                    "your API tokens",
                    items_of(ref("ApiToken")),
                ),
                params=[query("all", BOOL, "everyone's (admins)"), query("includeRevoked", BOOL)],
                errors=("401", "403", "422"),
            ),
            "post": operation(
                "Create API token",
                "tokens",
                ("201", "the token, shown this once", ref("NewApiToken")),
                body=obj(
                    {
                        "name": {**NAMED, "maxLength": MAX_TOKEN_NAME_LENGTH},
                        "scope": {"type": "string", "enum": ["read", "write"], "default": "read"},
                        "expiresAt": nullable(INSTANT),
                    },
                    ["name"],
                ),
                errors=("400", "401", "403", "409", "413", "422"),
            ),
        },
        "/api/tokens/{id}": {
            "delete": operation(
                "Revoke API token",
                "tokens",
                ("204", "revoked", None),
                params=[path_param("API token id")],
                errors=("401", "403", "404"),
            )
        },
        **_monitor_paths(),
        **alert_paths(),
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "tags": ["meta"],
                "operationId": "openapi",
                "security": [{}],
                "responses": {"200": response("OpenAPI 3.1")},
            }
        },
    }


MONITOR_SCHEDULE: dict[str, Schema] = {
    "cron": nullable(STRING),
    "timezone": STRING,
    "periodSeconds": nullable(NUMBER),
    "graceSeconds": NUMBER,
    "maxDurationSeconds": nullable(NUMBER),
}
MONITOR_INPUT = obj(
    {"name": STRING, **MONITOR_SCHEDULE},
    description="cron (with timezone) or periodSeconds; see docs/monitors.md",
)
SCHEMAS["Monitor"] = obj(
    {
        "id": ID,
        "ownerId": ID,
        "name": STRING,
        "pingUrl": STRING,
        **MONITOR_SCHEDULE,
        "state": {"type": "string", "enum": ["new", "up", "late", "down", "running"]},
        "ranTooLong": BOOL,
        "paused": BOOL,
        "lastPingAt": nullable(INSTANT),
        "lastStartAt": nullable(INSTANT),
        "nextExpectedAt": nullable(INSTANT),
        "createdAt": INSTANT,
        "updatedAt": INSTANT,
    },
    ["id", "name", "pingUrl", "state", "paused"],
)
SCHEMAS["MonitorPing"] = obj(
    {
        "id": ID,
        "at": INSTANT,
        "kind": {"type": "string", "enum": ["success", "start", "fail"]},
        "exitStatus": nullable({"type": "integer", "minimum": 0, "maximum": 255}),
        "body": STRING,
        "remoteAddr": nullable(STRING),
        "userAgent": nullable(STRING),
    },
    ["id", "at", "kind", "body"],
)


def _monitor_paths() -> dict[str, Schema]:
    """Heartbeat monitors (the ping URLs themselves are outside /api: docs/monitors.md)."""
    one = [path_param("monitor id")]
    write = ("400", "401", "403", "404", "413", "422")  # no 409: a monitor has no version
    page = page_of("Monitor", required=False)
    return {
        "/api/monitors": {
            "get": operation(
                "List monitors",
                "monitors",
                ("200", "a page of monitors, newest first", page),
                params=[query("limit", {"type": "integer"}), query("cursor", STRING)],
                errors=("401", "422"),
            ),
            "post": operation(
                "Create monitor",
                "monitors",
                ("201", "the monitor, with its secret ping URL", ref("Monitor")),
                body=MONITOR_INPUT,
                errors=("400", "401", "403", "413", "422"),
            ),
        },
        "/api/monitors/{id}": {
            "get": operation(
                "Get monitor",
                "monitors",
                ("200", "the monitor", ref("Monitor")),
                params=one,
                errors=("401", "404"),
            ),
            "patch": operation(
                "Update monitor",
                "monitors",
                ("200", "the monitor", ref("Monitor")),
                body=MONITOR_INPUT,
                params=one,
                errors=write,
            ),
            "delete": operation(
                "Delete monitor",
                "monitors",
                ("204", "deleted", None),
                params=one,
                errors=("401", "403", "404"),
            ),
        },
        **{
            f"/api/monitors/{{id}}/{verb}": {
                "post": action(
                    f"{verb.title()} monitor",
                    "monitors",
                    ("200", "the monitor", ref("Monitor")),
                    one,
                    errors=write,
                ),
            }
            for verb in ("pause", "resume")
        },
        "/api/monitors/{id}/pings": {
            "get": operation(
                "List monitor pings",
                "monitors",
                (
                    "200",
                    "the newest pings first",
                    items_of(ref("MonitorPing")),
                ),
                params=[*one, query("limit", {"type": "integer"})],
                errors=("401", "404", "422"),
            ),
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dts REST API",
            "version": __version__,
            "description": (
                "The original brief's REST API, extended. Authenticate with "
                "`Authorization: Bearer <token>`: the access token from POST /api/auth/login, "
                "or an API token (`dts_…`). Errors are always "
                '`{"error": {"code", "message", "field"}}`. Lists are pages, newest first: '
                "pass `nextCursor` as `cursor`. GraphQL at /graphql offers the same and "
                "live subscriptions."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an access token (JWT) or an API token dts_…",
                }
            },
        },
    }


async def openapi_json(_request: Request) -> JSONResponse:
    return JSONResponse(document())
