"""`/graphql` over HTTP: what a request must be before an operation runs, and the errors if not.

The body is read while it streams in and refused past 1 MiB (the REST API's cap), before
anything is parsed. Every refusal — too large, not JSON, not UTF-8, nested too deeply, a
batch, a subscription over HTTP, a mutation over GET — answers in the GraphQL error shape
`{"errors": [{"message", "extensions": {"code", "field"}}]}` with a 4xx status, never plain
text, a 500 or a stack trace.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.graphql.context import Context
from app.rest.request import MAX_BODY_BYTES

MAX_JSON_DEPTH = 32  # a JobInput is 4 levels deep; nothing we take needs more than a few
_TOO_DEEP = object()
MiB = 1024 * 1024
CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "HttpGraphQL", "RequestRefused"]


class RequestRefused(Exception):
    """The HTTP request cannot carry an operation; answered with `status` and a GraphQL error."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, allow: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.allow = allow

    def response(self) -> JSONResponse:
        extensions = {"code": CODES.get(self.status, "bad_request"), "field": self.field}
        headers = {"Allow": self.allow} if self.allow else None
        return JSONResponse(
            {"errors": [{"message": self.message, "extensions": extensions}]},
            status_code=self.status,
            headers=headers,
        )


def _too_large() -> NoReturn:
    raise RequestRefused(
        413, f"the request body is over {MAX_BODY_BYTES // MiB} MiB; send less in one request"
    )


class CappedRequestAdapter(StarletteRequestAdapter):
    """Reads the body while it streams in, and stops at the cap: a 300 MiB body is not read."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.starlette_request = request

    async def get_body(self) -> bytes:
        declared = self.starlette_request.headers.get("content-length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            _too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.starlette_request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                _too_large()
            chunks.append(chunk)
        return b"".join(chunks)


def _depth(value: Any) -> int:
    """How deeply JSON containers nest (iteratively: deep input must not recurse here)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(raw: bytes | str, what: str = "the body") -> Any:
    """JSON from the request (the body, or `variables` in a GET's query string)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise RequestRefused(
            400, f"{what} is not UTF-8 text (byte {error.start} cannot be decoded)"
        ) from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        data = _TOO_DEEP
    except json.JSONDecodeError as error:
        raise RequestRefused(
            400,
            f"{what} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
        ) from None
    except ValueError as error:
        raise RequestRefused(400, f"{what} is not valid JSON: {error}") from None
    if data is _TOO_DEEP or _depth(data) > MAX_JSON_DEPTH:
        raise RequestRefused(400, f"{what} nests JSON more than {MAX_JSON_DEPTH} levels deep")
    return data


def decode_operation(raw: bytes) -> dict[str, Any]:
    """The JSON body of one operation: `{query, variables?, operationName?, extensions?}`."""
    if not raw.strip():
        raise RequestRefused(400, 'the body is empty; send {"query": "…", "variables": {…}}')
    data = decode_json(raw)
    if isinstance(data, list):
        raise RequestRefused(
            400,
            "batched operations (a JSON list) are not supported: send one operation per "
            "request, or combine them in one document with aliases",
        )
    if not isinstance(data, dict):
        raise RequestRefused(400, 'expected a JSON object such as {"query": "…", "variables": {…}}')
    for name, kind in (("query", str), ("operationName", str), ("variables", dict)):
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            wanted = "a string" if kind is str else "an object"
            raise RequestRefused(400, f"{name} must be {wanted}", field=name)
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestRefused(400, "extensions must be an object", field="extensions")
    return data


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


class HttpGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with our HTTP rules: bounded body, JSON only, one operation."""

    request_adapter_class = CappedRequestAdapter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except RequestRefused as refused:
            response = refused.response()
        except HTTPException as error:  # Strawberry's own refusals, in our shape
            response = RequestRefused(error.status_code, error.reason).response()
        await response(scope, receive, send)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method != "POST":
            return await super().parse_http_body(request)
        media = _media_type(request.content_type or "")
        if media != "application/json":
            raise RequestRefused(
                415,
                "send the operation as JSON with 'Content-Type: application/json' "
                f"(got {media or 'none'})",
            )
        data = decode_operation(await request.get_body())
        return GraphQLRequestData(
            query=data.get("query"),
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
            protocol="http",
        )

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data, "a query parameter")  # POST bodies are read above

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Subscriptions are served over the websocket only (over HTTP they failed deep
        # inside); GET may only read.
        allowed = {OperationType.QUERY}
        if request_adapter.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type == OperationType.SUBSCRIPTION:
                raise RequestRefused(
                    400,
                    "subscriptions need a websocket: connect to /graphql with the "
                    "graphql-transport-ws protocol",
                ) from None
            raise RequestRefused(405, "mutations must be sent with POST", allow="POST") from None
        except CannotGetOperationTypeError as error:
            raise RequestRefused(400, error.as_http_error_reason(), field="operationName") from None
        except MissingQueryError:
            raise RequestRefused(
                400,
                'no operation: send {"query": "…"} (and "variables" if it has any)',
                field="query",
            ) from None
