"""`/api/auth/*`: register, sign in, refresh, sign out, password reset, and who am I."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.errors import Forbidden, Unauthenticated, ValidationError, shown
from app.rest.request import caller, client_ip, object_body, services_of, text_field
from app.rest.shapes import session_json, user_json
from app.services import users


async def register(request: Request) -> JSONResponse:
    """`{email, password}` → 201 `{user}`. The very first account becomes an admin."""
    data = await object_body(request)
    email = text_field(data, "email")
    password = text_field(data, "password")
    user = await services_of(request).auth.register(email, password, ip=client_ip(request))
    return JSONResponse({"user": user_json(user)}, status_code=201)


async def login(request: Request) -> JSONResponse:
    """`{email, password}` → `{token, accessToken, refreshToken, tokenType, expiresIn, user}`."""
    data = await object_body(request)
    email = text_field(data, "email")
    password = text_field(data, "password")
    pair = await services_of(request).auth.login(
        email, password, ip=client_ip(request), user_agent=request.headers.get("user-agent")
    )
    return JSONResponse(session_json(pair))


async def refresh(request: Request) -> JSONResponse:
    """`{refreshToken}` → a new session; the refresh token sent is used up."""
    data = await object_body(request)
    token = data.get("refreshToken")
    if not isinstance(token, str) or not token:
        raise ValidationError(
            "send the refresh token from sign-in as refreshToken (a string)",
            field="refreshToken",
        )
    pair = await services_of(request).auth.refresh(
        token, ip=client_ip(request), user_agent=request.headers.get("user-agent")
    )
    return JSONResponse(session_json(pair))


async def logout(request: Request) -> Response:
    """`{refreshToken}` ends that session; `{"everywhere": true}` (signed in) ends them all."""
    data = await object_body(request, required=False)
    services = services_of(request)
    token = data.get("refreshToken")
    everywhere = data.get("everywhere")
    if token is not None and not isinstance(token, str):
        raise ValidationError(f"expected a string, got {shown(token)}", field="refreshToken")
    if everywhere is not None and not isinstance(everywhere, bool):
        raise ValidationError(
            f"expected true or false, got {shown(everywhere)}", field="everywhere"
        )
    if token:
        await services.auth.logout(token)
    if everywhere:
        principal = await caller(request)
        if principal.via_token:
            raise Forbidden("an API token cannot sign out sessions; sign in to do that")
        await services.auth.logout_all(principal.user_id)
    return Response(status_code=204)


async def forgot(request: Request) -> JSONResponse:
    """`{email}` → 202 whether or not the account exists (nothing to learn from the answer)."""
    data = await object_body(request)
    email = text_field(data, "email")
    await services_of(request).auth.request_password_reset(email, ip=client_ip(request))
    return JSONResponse(
        {"ok": True, "message": "if this account exists, a reset link is on its way"},
        status_code=202,
    )


async def reset(request: Request) -> JSONResponse:
    """`{token, password}` sets a new password; every session of the account is signed out."""
    data = await object_body(request)
    token = text_field(data, "token")
    password = text_field(data, "password")
    await services_of(request).auth.reset_password(token, password, ip=client_ip(request))
    return JSONResponse({"ok": True, "message": "password changed; sign in with it"})


async def me(request: Request) -> JSONResponse:
    principal = await caller(request)
    user = await users.get_user(services_of(request).db, principal.user_id)
    if user is None:
        raise Unauthenticated("this account no longer exists")
    body = user_json(user)
    body["viaApiToken"] = principal.via_token
    body["scope"] = principal.scope
    return JSONResponse(body)
