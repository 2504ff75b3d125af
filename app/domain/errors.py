"""Errors raised by domain rules and services, mapped to each interface's error shape.

Every error is written for a person: it says what was wrong, where (the field), and,
where it helps, what to do. Interfaces (GraphQL, REST, CLI) translate these into their
own format; none of them ever shows a stack trace.
"""

from __future__ import annotations


def shown(value: object) -> str:
    """A value as the client wrote it, for a message: JSON's null/true/false, text quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


class DtsError(Exception):
    """Base of all errors a user may see. `code` is stable and machine-readable."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationError(DtsError):
    """Input that breaks a rule; `field` is the dotted path of the input (e.g. `schedule.cron`)."""

    code = "validation_error"
    status = 422


class NotFound(DtsError):
    code = "not_found"
    status = 404


class Forbidden(DtsError):
    code = "forbidden"
    status = 403


class Unauthenticated(DtsError):
    code = "unauthenticated"
    status = 401


class TokenExpired(Unauthenticated):
    """The credential was valid but has run out: refresh it (websockets close with 4401)."""


class Conflict(DtsError):
    code = "conflict"
    status = 409


class RateLimited(DtsError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
