"""The audit log: who created, changed, paused, triggered or deleted what, and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db.engine import Database
from app.db.models import AuditEntry
from app.services.access import Principal, ensure_admin


def entry_row(
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: object = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    return {
        "actor_id": actor.user_id if actor else None,
        "actor_email": actor.email if actor else None,
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "detail": detail or {},
        "ip": ip,
    }


def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: object = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Add an entry inside the caller's transaction (it commits or rolls back with the change)."""
    session.add(AuditEntry(**entry_row(actor, action, target_type, target_id, detail, ip)))


AUDIT_LOG: Table = AuditEntry.__table__  # type: ignore[assignment]
_INSERT = insert(AUDIT_LOG)  # Core: no ORM layer between the row and the driver


async def write(
    session: AsyncSession | AsyncConnection,
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: object = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """`record` as one INSERT executed now, for hot paths: the same row, in the same
    transaction, without an ORM object to flush (and no RETURNING of its id)."""
    await session.execute(_INSERT, entry_row(actor, action, target_type, target_id, detail, ip))


async def list_entries(
    db: Database, principal: Principal, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    ensure_admin(principal)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(max(limit, 1), 500))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    async with db.session() as session:
        return list((await session.scalars(query)).all())
