"""Errors as the REST API shows them: `{"error": {"code", "message", "field"}}`, never a trace."""

from __future__ import annotations

import logging
import math

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.domain.errors import DtsError, RateLimited

log = logging.getLogger("dts.rest")


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
    return error_response(error.status, error.code, error.message, error.field, headers)


async def handle_dts_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DtsError)
    return dts_error_response(error)


async def handle_unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "something went wrong on our side; it was logged")
