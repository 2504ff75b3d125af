"""`/api/alerts/…`: notification channels, alert rules and incidents (REST mirror of the
GraphQL alerting API; the same services, the same checks)."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db import models
from app.domain.errors import ValidationError
from app.rest.request import caller, object_body, path_id, query_id, query_int, services_of
from app.rest.shapes import page_json
from app.services import alerts, channels
from app.services.secrets import SecretBox

RULE_FIELDS = {
    "channelIds": "channel_ids",
    "onFailure": "on_failure",
    "failureThreshold": "failure_threshold",
    "onTimedOut": "on_timed_out",
    "onLost": "on_lost",
    "onMissed": "on_missed",
    "onSkipped": "on_skipped",
    "onRecovery": "on_recovery",
    "remindEveryHours": "remind_every_hours",
}
BOOL_FIELDS = ("onFailure", "onTimedOut", "onLost", "onMissed", "onSkipped", "onRecovery")


def channel_json(channel: models.AlertChannel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "shared": channel.shared,
        "ownerId": channel.owner_id,
        **channels.public_config(channel),
        "createdAt": channel.created_at.isoformat(),
    }


def rule_json(rule: models.AlertRule) -> dict[str, Any]:
    return {key: getattr(rule, attr) for key, attr in RULE_FIELDS.items()}


def incident_json(incident: models.Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "subject": incident.subject,
        "subjectId": incident.subject_id,
        "name": incident.name,
        "kind": incident.kind,
        "status": incident.status,
        "summary": incident.summary,
        "failures": incident.failures,
        "openedAt": incident.opened_at.isoformat(),
        "lastFailureAt": incident.last_failure_at.isoformat(),
        "resolvedAt": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


def parse_rule(data: dict[str, Any]) -> alerts.RuleInput:
    unknown = sorted(set(data) - set(RULE_FIELDS))
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]!r}; use {', '.join(RULE_FIELDS)}", field=unknown[0]
        )
    ids = data.get("channelIds")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ValidationError("expected a list of channel ids (numbers)", field="channelIds")
    values: dict[str, Any] = {"channel_ids": ids}
    for key in BOOL_FIELDS:
        if key in data:
            if not isinstance(data[key], bool):
                raise ValidationError("expected true or false", field=key)
            values[RULE_FIELDS[key]] = data[key]
    threshold = data.get("failureThreshold", 1)
    if not isinstance(threshold, int) or isinstance(threshold, bool):
        raise ValidationError("expected a whole number", field="failureThreshold")
    values["failure_threshold"] = threshold
    remind = data.get("remindEveryHours")
    if remind is not None and (not isinstance(remind, int | float) or isinstance(remind, bool)):
        raise ValidationError("expected a number of hours or null", field="remindEveryHours")
    values["remind_every_hours"] = float(remind) if remind is not None else None
    return alerts.RuleInput(**values)


async def list_channels(request: Request) -> JSONResponse:
    principal = await caller(request)
    async with services_of(request).db.session() as session:
        found = await channels.list_channels(session, principal)
    return JSONResponse({"items": [channel_json(c) for c in found]})


async def create_channel(request: Request) -> JSONResponse:
    """`{name, kind: email|webhook|slack, address?, url?, shared?}` → 201 `{channel,
    signingSecret}` (webhooks: the signing secret, shown only this once)."""
    principal = await caller(request)
    data = await object_body(request)
    name, kind, shared = data.get("name"), data.get("kind"), data.get("shared", False)
    if not isinstance(name, str):
        raise ValidationError("give the channel a name (a string)", field="name")
    if not isinstance(kind, str):
        raise ValidationError("expected email, webhook or slack", field="kind")
    if not isinstance(shared, bool):
        raise ValidationError("expected true or false", field="shared")
    config = {"address": data.get("address")} if kind == "email" else {"url": data.get("url")}
    services = services_of(request)
    async with services.db.transaction() as session:
        created = await channels.create_channel(
            session,
            SecretBox(services.settings),
            principal,
            name=name,
            kind=kind,
            config=config,
            shared=shared,
            allow_private=services.settings.http_allow_private,
        )
        body = {"channel": channel_json(created.channel), "signingSecret": created.signing_secret}
    return JSONResponse(body, status_code=201)


async def delete_channel(request: Request) -> Response:
    principal = await caller(request)
    channel_id = path_id(request, "channel")
    async with services_of(request).db.transaction() as session:
        await channels.delete_channel(session, principal, channel_id)
    return Response(status_code=204)


async def test_channel(request: Request) -> JSONResponse:
    principal = await caller(request)
    services = services_of(request)
    result = await channels.send_test(
        services.db, services.settings, principal, path_id(request, "channel"), services.clock()
    )
    return JSONResponse({"ok": result.ok, "error": result.error})


async def get_own_rules(request: Request, subject: str) -> JSONResponse:
    """A job's or monitor's own rules (`subject`; bound per route)."""
    principal = await caller(request)
    rule = await alerts.subject_rules(
        services_of(request).db, principal, subject, path_id(request, subject)
    )
    return JSONResponse({"rules": rule_json(rule) if rule else None})


async def put_own_rules(request: Request, subject: str) -> JSONResponse:
    principal = await caller(request)
    subject_id = path_id(request, subject)
    rule = parse_rule(await object_body(request))
    stored = await alerts.set_subject_rules(
        services_of(request).db, principal, subject, subject_id, rule
    )
    return JSONResponse({"rules": rule_json(stored)})


async def delete_own_rules(request: Request, subject: str) -> Response:
    principal = await caller(request)
    await alerts.clear_subject_rules(
        services_of(request).db, principal, subject, path_id(request, subject)
    )
    return Response(status_code=204)


async def get_defaults(request: Request) -> JSONResponse:
    principal = await caller(request)
    rule = await alerts.default_rules(services_of(request).db, principal)
    return JSONResponse({"rules": rule_json(rule) if rule else None})


async def put_defaults(request: Request) -> JSONResponse:
    principal = await caller(request)
    rule = parse_rule(await object_body(request))
    stored = await alerts.set_default_rules(services_of(request).db, principal, rule)
    return JSONResponse({"rules": rule_json(stored)})


async def job_incidents(request: Request) -> JSONResponse:
    principal = await caller(request)
    limit = query_int(request, "limit", 50, 1, 500) or 50
    found = await alerts.job_incidents(
        services_of(request).db, principal, path_id(request, "job"), limit
    )
    return JSONResponse({"items": [incident_json(i) for i in found]})


async def list_incidents(request: Request) -> JSONResponse:
    """`?status=open|resolved&subject=job|monitor&jobId=&monitorId=&limit=50&cursor=` → a
    page of the incidents you may read, newest first."""
    principal = await caller(request)
    params = request.query_params
    wanted = alerts.IncidentFilter(
        status=params.get("status") or None,
        subject=params.get("subject") or None,
        job_id=query_id(request, "jobId"),
        monitor_id=query_id(request, "monitorId"),
    )
    limit = query_int(request, "limit", 50, 1, alerts.MAX_INCIDENT_PAGE) or 50
    found, more = await alerts.find_incidents(
        services_of(request).db,
        principal,
        wanted,
        first=limit,
        after_id=query_id(request, "cursor"),
    )
    items = [incident_json(i) for i in found]
    return JSONResponse(page_json(items, more, found[-1].id if found else None))


def routes() -> list[Route]:
    return [
        Route("/api/alerts/channels", list_channels, methods=["GET"]),
        Route("/api/alerts/channels", create_channel, methods=["POST"]),
        Route("/api/alerts/channels/{id}", delete_channel, methods=["DELETE"]),
        Route("/api/alerts/channels/{id}/test", test_channel, methods=["POST"]),
        *(
            Route(
                f"/api/alerts/{subject}s/{{id}}/rules",
                partial(handler, subject=subject),
                methods=[method],
            )
            for subject in ("job", "monitor")
            for method, handler in (
                ("GET", get_own_rules),
                ("PUT", put_own_rules),
                ("DELETE", delete_own_rules),
            )
        ),
        Route("/api/alerts/jobs/{id}/incidents", job_incidents, methods=["GET"]),
        Route("/api/alerts/incidents", list_incidents, methods=["GET"]),
        Route("/api/alerts/defaults", get_defaults, methods=["GET"]),
        Route("/api/alerts/defaults", put_defaults, methods=["PUT"]),
    ]


def openapi_paths() -> dict[str, Any]:
    """These routes in the OpenAPI document (app/rest/openapi.py merges them in)."""
    from app.rest.openapi import (
        BOOL,
        CHANGE,
        CURSOR,
        ID,
        INSTANT,
        STRING,
        obj,
        operation,
        path_param,
        query,
    )

    channel = obj(
        {
            "id": ID,
            "name": STRING,
            "kind": {"type": "string", "enum": list(channels.KINDS)},
            "shared": BOOL,
            "ownerId": ID,
            "address": STRING,
            "url": {"type": "string", "description": "masked: scheme and host only"},
            "createdAt": INSTANT,
        },
        ["id", "name", "kind", "shared"],
    )
    number: dict[str, Any] = {"type": "number"}

    def array(items: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "items": items}

    def maybe(schema: dict[str, Any]) -> dict[str, Any]:
        return {"anyOf": [schema, {"type": "null"}]}

    rule_props: dict[str, Any] = {
        "channelIds": {"type": "array", "items": ID},
        "failureThreshold": {"type": "integer", "minimum": 1, "maximum": 1000},
        "remindEveryHours": {"anyOf": [number, {"type": "null"}]},
        **{key: BOOL for key in BOOL_FIELDS},
    }
    rules = obj({"rules": {"anyOf": [obj(rule_props), {"type": "null"}]}})
    incident = obj(
        {
            "id": ID,
            "subject": STRING,
            "subjectId": ID,
            "name": STRING,
            "kind": STRING,
            "status": {"type": "string", "enum": ["open", "resolved"]},
            "summary": STRING,
            "failures": {"type": "integer"},
            "openedAt": INSTANT,
            "lastFailureAt": INSTANT,
            "resolvedAt": {"anyOf": [INSTANT, {"type": "null"}]},
        }
    )
    channel_id = path_param("channel id")
    job_id = path_param("job id")
    rule_body = obj(rule_props, ["channelIds"])
    return {
        "/api/alerts/channels": {
            "get": operation(
                "List alert channels",
                "alerts",
                (
                    "200",
                    "yours and the shared ones",
                    obj({"items": {"type": "array", "items": channel}}),
                ),
                errors=("401",),
            ),
            "post": operation(
                "Create alert channel",
                "alerts",
                (
                    "201",
                    "the channel; webhooks: the signing secret, shown this once",
                    obj(
                        {"channel": channel, "signingSecret": {"anyOf": [STRING, {"type": "null"}]}}
                    ),
                ),
                body=obj(
                    {
                        "name": STRING,
                        "kind": {"type": "string", "enum": list(channels.KINDS)},
                        "address": STRING,
                        "url": STRING,
                        "shared": BOOL,
                    },
                    ["name", "kind"],
                ),
                errors=CHANGE,
            ),
        },
        "/api/alerts/channels/{id}": {
            "delete": operation(
                "Delete alert channel",
                "alerts",
                ("204", "deleted", None),
                params=[channel_id],
                errors=("401", "403", "404"),
            )
        },
        "/api/alerts/channels/{id}/test": {
            "post": operation(
                "Send test notification",
                "alerts",
                ("200", "the delivery's result", obj({"ok": BOOL, "error": maybe(STRING)})),
                params=[channel_id],
                errors=("401", "403", "404", "429"),
            )
        },
        **{
            f"/api/alerts/{subject}s/{{id}}/rules": {
                "get": operation(
                    f"Get {subject} alert rules",
                    "alerts",
                    ("200", f"the {subject}'s own rules (null: the defaults apply)", rules),
                    params=[param],
                    errors=("401", "404"),
                ),
                "put": operation(
                    f"Set {subject} alert rules",
                    "alerts",
                    ("200", "the rules", rules),
                    body=rule_body,
                    params=[param],
                    errors=CHANGE,
                ),
                "delete": operation(
                    f"Remove {subject} alert rules",
                    "alerts",
                    ("204", "removed: the defaults apply", None),
                    params=[param],
                    errors=("401", "403", "404"),
                ),
            }
            for subject, param in (("job", job_id), ("monitor", path_param("monitor id")))
        },
        "/api/alerts/jobs/{id}/incidents": {
            "get": operation(
                "List job incidents",
                "alerts",
                ("200", "newest first", obj({"items": {"type": "array", "items": incident}})),
                params=[job_id],
                errors=("401", "404", "422"),
            )
        },
        "/api/alerts/incidents": {
            "get": operation(
                "List incidents",
                "alerts",
                (
                    "200",
                    "a page of your jobs' and monitors' incidents (admins: everyone's), newest "
                    "first; pass nextCursor as cursor for the next page",
                    obj({"items": array(incident), "nextCursor": maybe(STRING)}),
                ),
                params=[
                    query("status", {"type": "string", "enum": list(alerts.INCIDENT_STATUSES)}),
                    query("subject", {"type": "string", "enum": list(alerts.INCIDENT_SUBJECTS)}),
                    query("jobId", {"type": "integer", "minimum": 1}, "one job's incidents"),
                    query("monitorId", {"type": "integer", "minimum": 1}, "one monitor's"),
                    query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": alerts.MAX_INCIDENT_PAGE,
                            "default": 50,
                        },
                    ),
                    CURSOR,
                ],
                errors=("401", "404", "422"),
            )
        },
        "/api/alerts/defaults": {
            "get": operation(
                "Get default alert rules", "alerts", ("200", "yours", rules), errors=("401",)
            ),
            "put": operation(
                "Set default alert rules",
                "alerts",
                ("200", "the rules", rules),
                body=rule_body,
                errors=CHANGE,
            ),
        },
    }
