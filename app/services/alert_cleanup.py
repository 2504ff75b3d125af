"""What alerting keeps about a job or monitor goes when it is deleted.

Rules, the failure streak and incidents name their subject by kind and id
(`subject`, `subject_id`): no foreign key can cascade them, so deleting a job or monitor
deletes them here, in the deleting transaction. Without this a deleted job's open incident
would keep sending reminders, and a new job could never inherit anything (ids are never
reused, but the rows would stay forever). Notifications already written stay in the
outbox: they are delivered (or were) and pruned with the run history.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AlertRule, AlertStreak, Incident


async def forget_subject(session: AsyncSession, subject: str, subject_id: int) -> None:
    """Delete the alert rule, streak and incidents of one job or monitor."""
    for model in (AlertRule, AlertStreak, Incident):
        await session.execute(
            delete(model)
            .where(model.subject == subject, model.subject_id == subject_id)
            .execution_options(synchronize_session=False)
        )
