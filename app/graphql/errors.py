"""GraphQL errors for people: our errors carry `extensions: {code, field}`; anything else is
logged with its trace and shown as a short "internal error" — never a stack trace."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, StringValueNode, Visitor, visit
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from app.domain.errors import DtsError, RateLimited, ValidationError
from app.domain.text_input import check_text

log = logging.getLogger("dts.graphql")


def convert_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error  # syntax and validation errors from graphql-core are already clear
    extensions: dict[str, Any]
    if isinstance(original, DtsError):
        message = original.message
        extensions = {"code": original.code, "field": original.field}
        if isinstance(original, RateLimited):
            extensions["retryAfter"] = max(1, math.ceil(original.retry_after))
    else:
        log.error("unexpected error in %s", ".".join(map(str, error.path or [])), exc_info=original)
        message = "internal error; it was logged"
        extensions = {"code": "internal_error", "field": None}
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[str] = []

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        self.values.append(node.value)


def check_storable_text(document: DocumentNode | None, variables: object) -> None:
    """Refuse NUL characters and lone surrogates anywhere in the operation, up front.

    No database can store them; without this they would fail deep inside a write.
    """
    try:
        check_text(variables or {}, "variables")
        if document is not None:
            literals = _StringLiterals()
            visit(document, literals)
            for value in literals.values:
                check_text(value, "query")
    except ValidationError as error:
        raise GraphQLError(
            error.message, extensions={"code": error.code, "field": error.field}
        ) from None


class DtsErrors(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        check_storable_text(context.graphql_document, context.variables)

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [convert_error(e) for e in errors]
