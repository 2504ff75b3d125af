"""Errors as the REST API shows them: `{"error": {"code", "message", "field"}}`, never a trace."""

from __future__ import annotations

import logging
import math

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from app.domain.errors import DtsError, RateLimited, Unauthenticated

log = logging.getLogger("dts.rest")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
}


class BadRequest(DtsError):
    """The request itself is unreadable: malformed JSON, the wrong content type."""

    code = "bad_request"
    status = 400


class PayloadTooLarge(DtsError):
    code = "payload_too_large"
    status = 413


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}},
        status_code=status,
        headers=headers,
    )


def dts_error_response(error: DtsError) -> JSONResponse:
    headers = None
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(error.retry_after)))}
    elif isinstance(error, Unauthenticated):
        headers = {"WWW-Authenticate": 'Bearer realm="dts"'}
    return error_response(error.status, error.code, error.message, error.field, headers)


async def handle_dts_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DtsError)
    return dts_error_response(error)


async def handle_http_exception(request: Request, error: Exception) -> Response:
    """Starlette's own 404/405/…: the REST error shape under /api, plain text elsewhere."""
    assert isinstance(error, HTTPException)
    if error.status_code in (204, 304):
        return Response(status_code=error.status_code, headers=error.headers)
    if request.url.path == "/api" or request.url.path.startswith("/api/"):
        code = HTTP_CODES.get(error.status_code, "error")
        return error_response(
            error.status_code, code, str(error.detail), headers=dict(error.headers or {})
        )
    return PlainTextResponse(error.detail, status_code=error.status_code, headers=error.headers)


async def handle_unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "something went wrong on our side; it was logged")
