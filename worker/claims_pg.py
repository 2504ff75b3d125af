"""PostgreSQL's fast path for the two hot writes: a claim, and a batch of results.

`claims.py` writes each as a transaction of several statements (BEGIN, a fencing read,
the updates, the log and event inserts, COMMIT): portable, and what SQLite runs. On
PostgreSQL each of those statements is a round trip and a socket write on both sides —
most of the worker's and the server's CPU per run once the HTTP client is cheap. Here
each is ONE statement: data-modifying CTEs over `unnest`ed arrays, run in autocommit on
the driver connection (no BEGIN/COMMIT, no SQLAlchemy compilation), so a batch costs one
round trip however many runs it holds. Same semantics, same rows, same events:

- the claim locks due queued runs (`FOR UPDATE SKIP LOCKED`), marks them running,
  appends their `run.started` events and returns them joined with their jobs;
- a batch's UPDATE is fenced (`worker_id = me AND status = 'running'`, re-checked by
  PostgreSQL after any lock wait), and its log lines and events are inserted only for the
  runs that UPDATE returned, in the order given (a run's lines before its outcome).

A batch with a finished run that will be retried takes the portable path: the retry row
needs the job's settings, and is written in the same transaction as the outcome.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from app.db.engine import Database
from app.db.types import json_default
from worker.claims import ClaimedRun, Record, claimed_run

log = logging.getLogger("dts.claims")


def _iso(column: str) -> str:
    """SQL for a timestamptz as Python's `datetime.isoformat()` writes a UTC instant."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN date_part('microseconds', {column})::bigint % 1000000 <> 0 "
        f"THEN to_char({utc}, '.US') ELSE '' END || '+00:00' END"
    )


CLAIM_SQL = f"""
WITH picked AS (
    SELECT id FROM runs
    WHERE status = 'queued' AND run_after <= $3
      AND (start_deadline_at IS NULL OR start_deadline_at >= $3)
    ORDER BY run_after
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE runs SET status = 'running', worker_id = $1, lease_expires_at = $4, started_at = $3
    FROM picked WHERE runs.id = picked.id
    RETURNING runs.id, runs.job_id, runs.owner_id, runs.attempt, runs.root_run_id,
              runs.scheduled_for, runs.trigger, runs.log_lines
), started AS (
    INSERT INTO events (kind, job_id, run_id, owner_id, payload, created_at)
    SELECT 'run.started', c.job_id, c.id, c.owner_id,
           jsonb_build_object(
               'status', 'running', 'attempt', c.attempt, 'trigger', c.trigger,
               'scheduledFor', {_iso("c.scheduled_for")},
               'workerId', $1::text, 'startedAt', $5::text),
           $3
    FROM claimed c ORDER BY c.id
)
SELECT c.id, c.job_id, c.owner_id, c.attempt, c.root_run_id, c.scheduled_for, c.trigger,
       c.log_lines, j.id AS found, j.type, j.spec, j.timeout_seconds, j.max_attempts,
       j.retry_initial_delay, j.retry_max_delay, j.retry_multiplier, j.name
FROM claimed c LEFT JOIN jobs j ON j.id = c.job_id
ORDER BY c.id
"""  # noqa: S608 - no input in it: _iso() formats a column name of ours

# Kinds of record in a batch: 'l' log lines only, 'f' finished, 'r' released (shutdown).
RECORD_SQL = """
WITH input AS (
    SELECT * FROM unnest(
        $3::bigint[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::text[],
        $10::int[], $11::int[], $12::bool[]
    ) AS t(id, kind, status, http_status, exit_code, error, output, n_lines, n_bytes, truncated)
), done AS (
    UPDATE runs SET
        status = CASE t.kind WHEN 'f' THEN t.status WHEN 'r' THEN 'queued' ELSE runs.status END,
        finished_at = CASE WHEN t.kind = 'f' THEN $2 ELSE runs.finished_at END,
        http_status = CASE WHEN t.kind = 'f' THEN t.http_status ELSE runs.http_status END,
        exit_code = CASE WHEN t.kind = 'f' THEN t.exit_code ELSE runs.exit_code END,
        error = CASE WHEN t.kind = 'f' THEN t.error ELSE runs.error END,
        output = CASE WHEN t.kind = 'f' THEN t.output ELSE runs.output END,
        lease_expires_at = CASE WHEN t.kind = 'l' THEN runs.lease_expires_at END,
        worker_id = CASE WHEN t.kind = 'r' THEN NULL ELSE runs.worker_id END,
        run_after = CASE WHEN t.kind = 'r' THEN $2 ELSE runs.run_after END,
        log_lines = runs.log_lines + t.n_lines,
        log_bytes = runs.log_bytes + t.n_bytes,
        log_truncated = runs.log_truncated OR t.truncated
    FROM input t
    WHERE runs.id = t.id AND runs.worker_id = $1 AND runs.status = 'running'
    RETURNING runs.id
), logs AS (
    INSERT INTO run_logs (run_id, seq, ts, stream, text)
    SELECT l.run_id, l.seq, l.ts, l.stream, l.text
    FROM unnest($13::bigint[], $14::int[], $15::timestamptz[], $16::text[], $17::text[])
         AS l(run_id, seq, ts, stream, text)
    WHERE l.run_id IN (SELECT id FROM done)
), feed AS (
    INSERT INTO events (kind, job_id, run_id, owner_id, payload, created_at)
    SELECT e.kind, e.job_id, e.run_id, e.owner_id, e.payload::jsonb, $2
    FROM unnest($18::text[], $19::bigint[], $20::bigint[], $21::bigint[], $22::text[])
         WITH ORDINALITY AS e(kind, job_id, run_id, owner_id, payload, ord)
    WHERE e.run_id IN (SELECT id FROM done)
    ORDER BY e.ord
)
SELECT id FROM done
"""


@asynccontextmanager
async def driver_connection(db: Database) -> AsyncIterator[Any]:
    """The pooled connection's asyncpg connection, outside any transaction (autocommit:
    one statement, one round trip). A connection that fails is discarded, not pooled."""
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        try:
            yield raw.driver_connection
        except BaseException:
            await conn.invalidate()
            raise


async def claim_runs_pg(
    db: Database, worker_id: str, limit: int, now: datetime, lease_seconds: float
) -> list[ClaimedRun]:
    lease = now + timedelta(seconds=lease_seconds)
    async with driver_connection(db) as pg:
        rows = await pg.fetch(CLAIM_SQL, worker_id, limit, now, lease, now.isoformat())
    claimed: list[ClaimedRun] = []
    for row in rows:
        if row["found"] is None:  # the job was deleted as we claimed: its runs go with it
            log.warning("run %s: claimed, but its job %s is gone", row["id"], row["job_id"])
            continue
        claimed.append(claimed_run(row, row, now))
    return claimed


async def record_runs_pg(
    db: Database,
    worker_id: str,
    records: list[Record],
    now: datetime,
    events: list[dict[str, Any]],
) -> set[int]:
    """One statement for the batch (see the module doc); `events` as built by
    `claims.record_events`, each naming its run. Returns the ids accepted."""
    ids: list[int] = []
    kinds: list[str] = []
    statuses: list[str | None] = []
    http: list[int | None] = []
    exits: list[int | None] = []
    errors: list[str | None] = []
    outputs: list[str | None] = []
    n_lines: list[int] = []
    n_bytes: list[int] = []
    truncated: list[bool] = []
    l_run: list[int] = []
    l_seq: list[int] = []
    l_ts: list[datetime] = []
    l_stream: list[str] = []
    l_text: list[str] = []
    for record in records:
        outcome = record.outcome
        ids.append(record.run.id)
        kinds.append("r" if record.release else "l" if outcome is None else "f")
        statuses.append(outcome.status if outcome else None)
        http.append(outcome.http_status if outcome else None)
        exits.append(outcome.exit_code if outcome else None)
        errors.append(outcome.error if outcome else None)
        outputs.append(outcome.output if outcome else None)
        n_lines.append(len(record.lines))
        n_bytes.append(sum(len(text) for _, _, text in record.lines))
        truncated.append(record.truncated or bool(outcome and outcome.log_truncated))
        for i, (ts, stream, text) in enumerate(record.lines):
            l_run.append(record.run.id)
            l_seq.append(record.first_seq + i)
            l_ts.append(ts)
            l_stream.append(stream)
            l_text.append(text)
    async with driver_connection(db) as pg:
        rows = await pg.fetch(
            RECORD_SQL,
            worker_id,
            now,
            ids,
            kinds,
            statuses,
            http,
            exits,
            errors,
            outputs,
            n_lines,
            n_bytes,
            truncated,
            l_run,
            l_seq,
            l_ts,
            l_stream,
            l_text,
            [e["kind"] for e in events],
            [e["job_id"] for e in events],
            [e["run_id"] for e in events],
            [e["owner_id"] for e in events],
            [json.dumps(e["payload"], default=json_default) for e in events],
        )
    return {row["id"] for row in rows}
