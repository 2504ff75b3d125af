"""The JSON the REST API returns: jobs, runs, log lines, users, sessions and API tokens.

Field names are camelCase as in the original brief; times are ISO 8601 in UTC with a `Z`.
Secret HTTP header values never leave the server: a job's spec is shown through
`public_spec`, which masks them. `app/rest/openapi.py` describes the same shapes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.db.models import ApiToken, Job, Run, RunLog, User
from app.domain.instants import utc_iso
from app.services.auth import TokenPair
from app.services.jobs import public_spec

# A list of runs carries at most this much of each run's output; GET /api/runs/:id has all.
LIST_OUTPUT_CHARS = 4096


def iso(value: datetime | None) -> str | None:
    return utc_iso(value) if value is not None else None


def schedule_json(job: Job) -> Any:
    """The cron string for cron jobs (as the brief sends it), else the schedule object."""
    if job.schedule_kind == "interval":
        return {"everySeconds": job.interval_seconds, "anchor": iso(job.anchor_at)}
    if job.schedule_kind == "at":
        return {"at": iso(job.run_at)}
    return job.cron


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "description": job.description,
        "type": job.type,
        "schedule": schedule_json(job),
        "scheduleKind": job.schedule_kind,
        "timezone": job.timezone,
        job.type: public_spec(job),
        "retry": {
            "maxAttempts": job.max_attempts,
            "initialDelay": job.retry_initial_delay,
            "maxDelay": job.retry_max_delay,
            "multiplier": job.retry_multiplier,
        },
        "timeoutSeconds": job.timeout_seconds,
        "concurrency": job.concurrency,
        "misfire": job.misfire,
        "misfireLimit": job.misfire_limit,
        "startingDeadlineSeconds": job.starting_deadline_seconds,
        "paused": job.paused,
        "nextRunAt": iso(job.next_run_at),
        "ownerId": job.owner_id,
        "version": job.version,
        "createdAt": iso(job.created_at),
        "updatedAt": iso(job.updated_at),
    }


def run_json(run: Run, *, full_output: bool = True) -> dict[str, Any]:
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds() * 1000)
    output = run.output
    clipped = False
    if output is not None and not full_output and len(output) > LIST_OUTPUT_CHARS:
        output, clipped = output[:LIST_OUTPUT_CHARS], True
    return {
        "id": run.id,
        "jobId": run.job_id,
        "scheduledFor": iso(run.scheduled_for),
        "attempt": run.attempt,
        "rootRunId": run.root_run_id,
        "trigger": run.trigger,
        "status": run.status,
        "queuedAt": iso(run.queued_at),
        "startedAt": iso(run.started_at),
        "finishedAt": iso(run.finished_at),
        "durationMs": duration,
        "httpStatus": run.http_status,
        "exitCode": run.exit_code,
        "error": run.error,
        "output": output,
        "outputClipped": clipped,
        "workerId": run.worker_id,
        "cancelRequested": run.cancel_requested,
        "logLines": run.log_lines,
        "logTruncated": run.log_truncated,
    }


def log_line_json(line: RunLog) -> dict[str, Any]:
    return {"seq": line.seq, "ts": iso(line.ts), "stream": line.stream, "text": line.text}


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "disabled": user.disabled,
        "createdAt": iso(user.created_at),
    }


def session_json(pair: TokenPair) -> dict[str, Any]:
    """A signed-in session; `token` is the brief's name for the access token."""
    return {
        "token": pair.access_token,
        "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token,
        "tokenType": pair.token_type,
        "expiresIn": pair.expires_in,
        "user": user_json(pair.user),
    }


def api_token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "userId": token.user_id,
        "createdAt": iso(token.created_at),
        "expiresAt": iso(token.expires_at),
        "lastUsedAt": iso(token.last_used_at),
        "revokedAt": iso(token.revoked_at),
    }


def page_json(items: list[dict[str, Any]], has_more: bool, last_id: int | None) -> dict[str, Any]:
    """A page of a list, newest first: pass `nextCursor` as `cursor` for the next page."""
    return {
        "items": items,
        "nextCursor": str(last_id) if has_more and last_id is not None else None,
    }
