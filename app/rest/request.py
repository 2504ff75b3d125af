"""Reading a REST request: its JSON body (at most 1 MiB), its caller, ids and query parameters.

Everything a route takes from the request goes through here, so a malformed body, a huge
body, a bad id or a bad query parameter gets the same clear error on every endpoint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

from starlette.requests import Request

from app.context import Services
from app.domain.errors import NotFound, Unauthenticated, ValidationError
from app.domain.job_input import parse_instant
from app.domain.text_input import check_text
from app.rest.errors import BadRequest, PayloadTooLarge
from app.services.access import Principal

MAX_BODY_BYTES = 1024 * 1024
MAX_ID = 2**63 - 1  # ids are 64-bit; a longer number names nothing (and must not reach SQL)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def client_ip(request: Request) -> str | None:
    """The caller's address (X-Forwarded-For counts only from DTS_TRUSTED_PROXIES)."""
    return request.client.host if request.client else None


async def optional_caller(request: Request) -> Principal | None:
    """Who is calling, or None without credentials; bad credentials are a 401."""
    return await services_of(request).auth.authenticate(request.headers.get("authorization"))


async def caller(request: Request) -> Principal:
    principal = await optional_caller(request)
    if principal is None:
        raise Unauthenticated(
            "sign in first: send 'Authorization: Bearer <token>' "
            "(a token from POST /api/auth/login, or an API token dts_…)"
        )
    return principal


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def json_body(request: Request, *, required: bool = True) -> Any:
    """The parsed JSON body; None when it is empty and not `required`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES // 1024} KiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES // 1024} KiB")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise BadRequest("a JSON body is required (Content-Type: application/json)")
        return None
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        shown = content_type.split(";", 1)[0].strip() or "none"
        raise BadRequest(
            f"send the body as JSON with 'Content-Type: application/json' (got {shown})"
        )
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8 text") from None
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    except ValueError as error:
        detail = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        where = (
            f" at line {error.lineno} column {error.colno}"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise BadRequest(f"the body is not valid JSON: {detail}{where}") from None
    check_text(data)
    return data


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "null"


async def object_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object (`{}` when optional and empty)."""
    data = await json_body(request, required=required)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError(f"expected a JSON object, got {json_type(data)}", field="body")
    return data


def text_field(data: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ValidationError("is required (a string)", field=name)
    return value


def path_id(request: Request, what: str, name: str = "id") -> int:
    """A numeric id from the path; anything else names nothing, so it is a 404."""
    raw = str(request.path_params.get(name, ""))
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_ID or int(raw) < 1:
        raise NotFound(f"{what} not found", field=name)
    return int(raw)


def query_text(request: Request, name: str, max_length: int = 200) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_length:
        raise ValidationError(f"at most {max_length} characters", field=name)
    check_text(raw, name)
    return raw


def query_int(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    stripped = raw.strip()
    if not stripped.isascii() or not stripped.lstrip("-").isdigit() or len(stripped) > 20:
        raise ValidationError(f"expected a whole number, got {raw!r}", field=name)
    value = int(stripped)
    if not lo <= value <= hi:
        raise ValidationError(f"must be from {lo} to {hi}, got {value}", field=name)
    return value


def query_id(request: Request, name: str) -> int | None:
    """An id in the query string (a filter or a cursor)."""
    return query_int(request, name, None, 1, MAX_ID)


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValidationError(f"expected true or false, got {raw!r}", field=name)


def query_instant(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    return parse_instant(raw, name)


def body_number(data: Mapping[str, Any], name: str, default: int) -> Any:
    """A number from the body left for the service to check; a whole float counts as an int."""
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value
