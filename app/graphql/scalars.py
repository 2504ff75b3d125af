"""Scalars whose parsing we own: a `DateTime` input is an instant every interface can use.

Strawberry's own DateTime accepts a time without an offset (ambiguous) and one that exists
only in its own zone (year 1 at +05:00 is before the first UTC instant, year 9999 at
-05:00 after the last); both later failed deep inside with a 500. Here they are input
errors, named like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dateutil.parser
from graphql import StringValueNode, ValueNode, print_ast
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from app.domain.instants import utc_iso


def parse_instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(
            f"expected an ISO 8601 time string such as 2026-03-29T02:30:00+02:00, got {value!r}"
        )
    try:
        parsed = dateutil.parser.isoparse(value)
    except (ValueError, OverflowError) as error:
        raise StrawberryInputCoercionError(
            f"{value!r} is not an ISO 8601 time such as 2026-03-29T02:30:00+02:00 ({error})"
        ) from None
    if parsed.tzinfo is None:
        raise StrawberryInputCoercionError(
            f"{value!r} has no UTC offset; add one (e.g. 'Z' or '+01:00')"
        )
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise StrawberryInputCoercionError(
            f"{value!r} is outside the years 1 to 9999 once converted to UTC"
        ) from None
    return parsed


def parse_instant_literal(node: ValueNode, _variables: object = None) -> datetime:
    """A literal in the document; the error points at it, so it can be named by its path."""
    if not isinstance(node, StringValueNode):
        raise StrawberryInputCoercionError(
            "expected an ISO 8601 time string such as 2026-03-29T02:30:00+02:00, "
            f"got {print_ast(node)}",
            nodes=[node],
        )
    try:
        return parse_instant(node.value)
    except StrawberryInputCoercionError as error:
        raise StrawberryInputCoercionError(error.message, nodes=[node]) from None


DATETIME = ScalarDefinition(
    name="DateTime",
    description="Date with time (isoformat)",  # Strawberry's wording: the SDL stays the same
    specified_by_url=None,
    serialize=utc_iso,  # one UTC 'Z' form, the same as REST
    parse_value=parse_instant,
    parse_literal=parse_instant_literal,
    origin=datetime,
)
