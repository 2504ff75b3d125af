"""`apply_outcomes` reads the batch's streaks once and skips successes with nothing to end;
a problem earlier in the same batch, or a streak left by an earlier batch, is still ended
by the success. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.db.engine import Database
from app.db.models import AlertStreak, Incident, Notification
from app.services import alerts
from tests.factories import add_user

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def outcome(owner_id: int, job_id: int, kind: str, n: int) -> alerts.SubjectOutcome:
    at = T0 + timedelta(seconds=n)
    return alerts.SubjectOutcome("job", job_id, owner_id, kind, f"run:{n}", kind, at, "j")


async def test_successes_in_a_batch_end_only_what_is_failing(db: Database) -> None:
    owner = await add_user(db, "ops@example.com")
    await alerts.set_default_rules(db, owner, alerts.RuleInput(channel_ids=[]))
    uid = owner.user_id
    # Job 1 fails then succeeds within one batch; job 2 only succeeds; job 3 fails.
    first = [
        outcome(uid, 1, "failed", 1),
        outcome(uid, 2, "succeeded", 2),
        outcome(uid, 1, "succeeded", 3),
        outcome(uid, 3, "failed", 4),
    ]
    await db.run_write(lambda conn: alerts.apply_outcomes(conn, first))
    # A later batch: job 3's streak, left by the first batch, is ended by its success.
    second = [outcome(uid, 2, "succeeded", 5), outcome(uid, 3, "succeeded", 6)]
    await db.run_write(lambda conn: alerts.apply_outcomes(conn, second))
    async with db.session() as session:
        incidents = list(await session.scalars(select(Incident).order_by(Incident.subject_id)))
        streaks = {s.subject_id: s for s in await session.scalars(select(AlertStreak))}
        notices = list(await session.scalars(select(Notification)))
    assert [(i.subject_id, i.status) for i in incidents] == [(1, "resolved"), (3, "resolved")]
    assert 2 not in streaks  # never failed: no streak row was made for it
    assert streaks[1].failures == 0 and streaks[3].failures == 0
    assert notices == []  # the rule has no channels
