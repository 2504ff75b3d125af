"""What the scheduler does with the occurrences that are due: the misfire policy, pure.

An occurrence is *on time* if the scheduler sees it within the grace (the job's starting
deadline, or `DEFAULT_GRACE` seconds); it is then queued as usual. Older ones were
*missed* (the system was down or the job paused with catch-up) and the job's policy
decides:

- `coalesce` (default): one catch-up run for the most recent missed occurrence; the
  earlier ones are recorded as `missed` runs.
- `all`: a run for each missed occurrence, the most recent `limit` of them; older ones
  are recorded `missed`.
- `skip`: every missed occurrence is recorded `missed`; none runs.

Recording is capped at `MISSED_RECORD_CAP` rows a tick; `missed_unrecorded` counts the
rest (and the tick reports it on the change feed), so a week-long outage of a per-second
job cannot write a million rows, and nothing is silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.schedule import Schedule, iter_occurrences, next_after

DEFAULT_GRACE = 60.0
MISSED_RECORD_CAP = 1_000
# How many due occurrences one tick walks before it skips ahead (bounded work per job).
WALK_CAP = 5_000
_SEARCH_WINDOWS = (
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=31),
    timedelta(days=366),
)


@dataclass
class Plan:
    queue: list[datetime] = field(default_factory=list)  # occurrences to run now
    missed: list[datetime] = field(default_factory=list)  # recorded as `missed` runs
    missed_unrecorded: int = 0  # missed beyond the recording cap
    catch_up: bool = False  # a queued run stands for missed occurrences
    next_run_at: datetime | None = None


def _latest_at_or_before(schedule: Schedule, now: datetime) -> datetime | None:
    for window in _SEARCH_WINDOWS:
        latest = None
        for occ in iter_occurrences(schedule, now - window):
            if occ.at > now:
                break
            latest = occ.at
        if latest is not None:
            return latest
    return None


def plan_due(
    schedule: Schedule,
    next_run_at: datetime,
    now: datetime,
    *,
    policy: str = "coalesce",
    limit: int = 100,
    grace: float | None = None,
) -> Plan:
    """Decide the runs for every occurrence from `next_run_at` up to and including `now`."""
    grace_delta = timedelta(seconds=DEFAULT_GRACE if grace is None else grace)
    due: list[datetime] = []
    walked_all = True
    at: datetime | None = next_run_at
    while at is not None and at <= now:
        if len(due) >= WALK_CAP:
            walked_all = False
            break
        due.append(at)
        at = next_after(schedule, at)

    uncounted = 0
    if not walked_all:
        # A huge backlog: jump to the most recent occurrence instead of walking to it.
        latest = _latest_at_or_before(schedule, now)
        if latest is not None and latest > due[-1]:
            due.append(latest)
            uncounted = 1  # at least one occurrence between was not walked
        at = next_after(schedule, now)

    plan = Plan(next_run_at=at)
    on_time = [t for t in due if now - t <= grace_delta]
    late = [t for t in due if now - t > grace_delta]
    if late:
        if policy == "all":
            run_late, record = late[-limit:], late[:-limit] if len(late) > limit else []
        elif policy == "skip":
            run_late, record = [], late
        else:  # coalesce: the newest missed occurrence runs, unless an on-time one will
            run_late = [] if on_time else late[-1:]
            record = late if on_time else late[:-1]
        plan.queue.extend(run_late)
        plan.catch_up = bool(run_late)
        plan.missed = record[-MISSED_RECORD_CAP:]
        plan.missed_unrecorded = max(0, len(record) - MISSED_RECORD_CAP) + uncounted
    plan.queue.extend(on_time)
    return plan
