"""Who may see and change what. Every service checks here, so no interface can bypass it.

Rules: an admin does everything; a viewer reads every job and run and changes nothing; a
member reads and changes only their own. Script jobs run commands on worker hosts, so only
admins create or change them. Asking for a job one may not read answers "not found", never
"forbidden", so job ids do not leak. API tokens with the `read` scope change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, true

from app.domain.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Principal:
    """The caller of a service: a signed-in user, or a user acting through an API token."""

    user_id: int
    email: str
    role: str  # admin | member | viewer
    scope: str = "write"  # an API token's scope: read | write; sessions have write
    via_token: bool = False
    # When the credential it was built from stops working (an open websocket closes then);
    # not part of who the caller is, so not compared.
    expires_at: datetime | None = field(default=None, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def reads_everything(self) -> bool:
        return self.role in ("admin", "viewer")

    @property
    def may_write(self) -> bool:
        return self.role != "viewer" and self.scope == "write"


def owner_filter(principal: Principal, owner_column: Any) -> ColumnElement[bool]:
    """SQL condition selecting the rows (jobs or runs) the principal may read."""
    if principal.reads_everything:
        return true()
    return owner_column == principal.user_id


def can_read(principal: Principal, owner_id: int) -> bool:
    return principal.reads_everything or owner_id == principal.user_id


def ensure_can_read(principal: Principal, owner_id: int, what: str = "job") -> None:
    if not can_read(principal, owner_id):
        raise NotFound(f"{what} not found")


def ensure_may_write(principal: Principal) -> None:
    if principal.role == "viewer":
        raise Forbidden("viewers can read jobs and runs but not change them")
    if principal.scope != "write":
        raise Forbidden("this API token is read-only; create a read-write token to make changes")


def ensure_can_change(
    principal: Principal, owner_id: int, job_type: str, what: str = "job"
) -> None:
    """Raise NotFound if the principal cannot even read it, Forbidden if it may only read it."""
    ensure_can_read(principal, owner_id, what)
    ensure_may_write(principal)
    if owner_id != principal.user_id and not principal.is_admin:
        raise NotFound(f"{what} not found")
    ensure_may_use_type(principal, job_type)


def ensure_may_use_type(principal: Principal, job_type: str) -> None:
    if job_type == "script" and not principal.is_admin:
        raise Forbidden(
            "only admins can create or change script jobs, because they run commands on the "
            "worker hosts; use an HTTP job or ask an admin",
            field="type",
        )


def ensure_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this needs the admin role")
