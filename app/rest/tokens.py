"""`/api/tokens`: API tokens for scripts and other services (`Authorization: Bearer dts_…`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.errors import ValidationError
from app.domain.job_input import parse_instant
from app.rest.request import caller, client_ip, object_body, path_id, query_bool, services_of
from app.rest.shapes import api_token_json
from app.services import api_tokens


async def list_tokens(request: Request) -> JSONResponse:
    """The caller's active tokens (`?all=true`: everyone's, admins only)."""
    principal = await caller(request)
    tokens = await api_tokens.list_api_tokens(
        services_of(request).db,
        principal,
        all_users=bool(query_bool(request, "all")),
        include_revoked=bool(query_bool(request, "includeRevoked")),
    )
    return JSONResponse({"items": [api_token_json(t) for t in tokens]})


async def create_token(request: Request) -> JSONResponse:
    """`{name, scope: read|write, expiresAt?}` → 201 `{token, apiToken}`; shown only this once."""
    principal = await caller(request)
    data = await object_body(request)
    name = data.get("name")
    if not isinstance(name, str):
        raise ValidationError("give the token a name (a string)", field="name")
    scope = data.get("scope", "read")
    if not isinstance(scope, str):
        raise ValidationError("expected read or write", field="scope")
    expires = data.get("expiresAt")
    services = services_of(request)
    token, plaintext = await api_tokens.create_api_token(
        services.db,
        principal,
        name,
        scope,
        expires_at=parse_instant(expires, "expiresAt") if expires is not None else None,
        ip=client_ip(request),
        now=services.clock(),
    )
    return JSONResponse({"token": plaintext, "apiToken": api_token_json(token)}, status_code=201)


async def revoke_token(request: Request) -> Response:
    principal = await caller(request)
    token_id = path_id(request, "API token")
    services = services_of(request)
    await api_tokens.revoke_api_token(
        services.db, principal, token_id, ip=client_ip(request), now=services.clock()
    )
    return Response(status_code=204)
