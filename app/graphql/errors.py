"""GraphQL errors for people: our errors carry `extensions: {code, field}`; anything else is
logged with its trace and shown as a short "internal error" — never a stack trace."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    Node,
    ObjectFieldNode,
    StringValueNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.error import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension

from app.domain.errors import DtsError, RateLimited, ValidationError
from app.domain.text_input import check_text

log = logging.getLogger("dts.graphql")


_BAD_VARIABLE = re.compile(r"Variable '\$(\w+)' has invalid value(?: at ([^:]+))?: ")


class _ArgumentOf(Visitor):
    """The argument a variable is passed to: `createJob(input: $i)` names `$i` `input`."""

    def __init__(self, variable: str) -> None:
        super().__init__()
        self.variable = variable
        self.argument: str | None = None

    def enter_argument(self, node: ArgumentNode, *_args: object) -> None:
        value = node.value
        named = isinstance(value, VariableNode) and value.name.value == self.variable
        if self.argument is None and named:
            self.argument = node.name.value


class _PathOf(Visitor):
    """The input path of a literal value: `input.schedule.at` in `createJob(input: {…})`."""

    def __init__(self, target: Node) -> None:
        super().__init__()
        self.target = target
        self.path: str | None = None

    def enter(self, node: Node, _key: object, parent: Any, _path: object, ancestors: Any) -> Any:
        if node is not self.target:
            return None
        names: list[str] = []
        for ancestor in [*ancestors, parent]:  # graphql-core leaves the parent out
            if isinstance(ancestor, ArgumentNode | ObjectFieldNode):
                names.append(ancestor.name.value)
        self.path = ".".join(names) or None
        return BREAK


def _input_field(error: GraphQLError, document: DocumentNode | None) -> str | None:
    """`input.schedule.at` for "Variable '$i' has invalid value at .schedule.at: …", or for
    an invalid literal in the document."""
    match = _BAD_VARIABLE.match(error.message)
    if match is None:
        if document is None or not error.nodes:
            return None
        literal = _PathOf(error.nodes[0])
        visit(document, literal)
        return literal.path
    variable, path = match.group(1), match.group(2) or ""
    name = variable
    if document is not None:
        finder = _ArgumentOf(variable)
        visit(document, finder)
        name = finder.argument or variable
    return f"{name}{path}"


def convert_error(error: GraphQLError, document: DocumentNode | None = None) -> GraphQLError:
    original = error.original_error
    if (
        isinstance(error, StrawberryInputCoercionError)
        or isinstance(original, StrawberryInputCoercionError)
        or _BAD_VARIABLE.match(error.message)
    ):  # a value that is not of its type (a time without an offset, an unknown enum value)
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "validation_error", "field": _input_field(error, document)},
        )
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
            document = self.execution_context.graphql_document
            result.errors = [convert_error(e, document) for e in errors]
