"""What alerting costs on the run-record path: recording finished runs with alert rules
present vs without.

One database per engine, two owners with the same number of jobs: one without any rule,
one whose default rule notifies a webhook channel. Each repetition, for each owner and
each outcome (all succeed, all fail), N runs are queued over the owner's jobs, claimed,
and recorded with `worker.claims.record_runs` in batches (as a worker's recorder writes
them); only the recording is timed. The scenarios alternate inside each repetition, so
drift hits all of them.

- Succeeding runs with rules: the check finds the rule and no streak (nothing to end).
- Failing runs with rules: each job's first failure of the repetition opens an incident
  (one outbox row for the channel), the rest count towards it; between repetitions one
  untimed success per job resolves the incidents, so every repetition opens them again.
- Without rules: on PostgreSQL a batch without retries is one statement
  (`worker/claims_pg.py`); with rules the batch takes the portable transaction, which
  also applies the outcomes. That switch is part of what is measured.

Reported: µs per recorded run (median / fastest repetition) beside the same figure without
rules, and their ratio.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from app.db.engine import Database
from app.db.models import AlertChannel, Incident, Notification
from app.services import alerts
from app.services.access import Principal
from bench import report
from bench.databases import fresh_database
from bench.fixtures import BASE_TIME, add_user, analyze, copies, insert_jobs, insert_runs, job_row
from bench.fixtures import run_rows as queued_rows
from worker.claims import ClaimedRun, Outcome, Record, claim_runs, record_runs

NOW = BASE_TIME + timedelta(days=1)
OUTCOMES = {
    "succeeded": Outcome("succeeded", http_status=200),
    "failed": Outcome("failed", http_status=500, error="HTTP 500", retryable=True),
}
WORKER = "bench-alerts"


class Owner:
    def __init__(self, principal: Principal, job_ids: list[int]) -> None:
        self.principal = principal
        self.job_ids = job_ids


async def _owner(db: Database, email: str, jobs: int, *, rules: bool) -> Owner:
    principal = await add_user(db, email)
    row = job_row(principal.user_id, name="j", url="http://127.0.0.1:9/", cron="0 0 1 1 *")
    job_ids = await insert_jobs(db, copies(row, jobs, email.split("@")[0]))
    if rules:
        async with db.transaction() as session:
            channel_id = await session.scalar(
                insert(AlertChannel)
                .values(
                    owner_id=principal.user_id,
                    shared=False,
                    name="bench hook",
                    kind="webhook",
                    config={"url": "not sent: the bench delivers nothing"},
                )
                .returning(AlertChannel.id)
            )
        assert channel_id is not None
        await alerts.set_default_rules(db, principal, alerts.RuleInput(channel_ids=[channel_id]))
    return Owner(principal, job_ids)


async def _record(
    db: Database, owner: Owner, count: int, outcome: Outcome, instants: Iterator[Any], batch: int
) -> float:
    """Queue `count` runs over the owner's jobs, claim them, and record them with
    `outcome`; returns the seconds the recording took."""
    rows: list[dict[str, Any]] = []
    while len(rows) < count:  # one occurrence per job per round; a new instant per round
        at = next(instants)
        rows += queued_rows(owner.job_ids, owner.principal.user_id, at, NOW)
    await insert_runs(db, rows[:count])
    claimed: list[ClaimedRun] = []
    while len(claimed) < count:
        got = await claim_runs(db, WORKER, count - len(claimed), NOW, 3600.0)
        assert got, "queued runs were not claimable"
        claimed += got
    elapsed = 0.0
    for start in range(0, count, batch):
        records = [
            Record(run=run, first_seq=0, outcome=outcome) for run in claimed[start : start + batch]
        ]
        started = time.perf_counter()
        owned = await record_runs(db, WORKER, records, NOW)
        elapsed += time.perf_counter() - started
        assert len(owned) == len(records)
    return elapsed


async def _count(db: Database, query: Any) -> int:
    async with db.session() as session:
        return int(await session.scalar(query) or 0)


async def record_costs(
    engine: str, runs: int, jobs: int, batch: int, reps: int
) -> dict[tuple[str, bool], list[float]]:
    """Seconds per recorded run, per repetition, for (outcome, with rules)."""
    async with fresh_database(engine) as db:
        owners = {
            False: await _owner(db, "plain@example.com", jobs, rules=False),
            True: await _owner(db, "alerted@example.com", jobs, rules=True),
        }
        await analyze(db)
        instants = (BASE_TIME + timedelta(seconds=i) for i in itertools.count())
        times: dict[tuple[str, bool], list[float]] = {
            (kind, rules): [] for kind in OUTCOMES for rules in owners
        }
        for rep in range(reps + 1):  # the first repetition warms caches and connections
            for (kind, rules), series in times.items():
                owner = owners[rules]
                elapsed = await _record(db, owner, runs, OUTCOMES[kind], instants, batch)
                if rep:
                    series.append(elapsed / runs)
                if kind == "failed" and rules:  # resolve, so the next repetition opens again
                    success = OUTCOMES["succeeded"]
                    await _record(db, owner, len(owner.job_ids), success, instants, batch)
        opened = await _count(db, select(func.count()).select_from(Incident))
        notices = await _count(db, select(func.count()).select_from(Notification))
        assert opened == jobs * (reps + 1), f"expected {jobs * (reps + 1)} incidents, got {opened}"
        assert notices == 2 * opened, f"expected an opened and a recovered notice each: {notices}"
        return times


async def main(args: argparse.Namespace) -> None:
    runs, jobs, batch, reps = args.alert_runs, args.alert_jobs, args.alert_batch, args.alert_reps
    report.note(
        f"\n## alerts — recording {runs:,} finished runs of {jobs} jobs in batches of {batch}, "
        f"with and without alert rules; {reps} repetitions"
    )
    rows = []
    for engine in args.engines:
        times = await record_costs(engine, runs, jobs, batch, reps)
        for kind, label in (
            ("succeeded", "runs succeed"),
            ("failed", f"runs fail ({jobs} incidents opened per repetition)"),
        ):
            plain, alerted = times[(kind, False)], times[(kind, True)]
            rows.append(
                [
                    engine,
                    label,
                    f"{report.us(report.median(plain))} / {report.us(min(plain))}",
                    f"{report.us(report.median(alerted))} / {report.us(min(alerted))}",
                    report.ratio(report.median(alerted), report.median(plain)),
                    report.ratio(min(alerted), min(plain)),
                ]
            )
    report.show(
        "Recording a finished run, per run, median / fastest repetition (reference: the "
        "same runs of an owner without alert rules)",
        ["engine", "what", "without rules", "with rules", "ratio (medians)", "ratio (fastest)"],
        rows,
    )
