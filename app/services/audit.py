"""The audit log: who created, changed, paused, triggered or deleted what, and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import AuditEntry
from app.services.access import Principal, ensure_admin


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
    session.add(
        AuditEntry(
            actor_id=actor.user_id if actor else None,
            actor_email=actor.email if actor else None,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            detail=detail or {},
            ip=ip,
        )
    )


async def list_entries(
    db: Database, principal: Principal, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    ensure_admin(principal)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(max(limit, 1), 500))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    async with db.session() as session:
        return list((await session.scalars(query)).all())
