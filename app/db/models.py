"""SQLAlchemy models: every table of DESIGN.md. Times are UTC; a job keeps its IANA zone.

The constraints here carry the guarantees: `uq_runs_occurrence` makes a second run of the
same occurrence and attempt impossible however many schedulers tick at once, and the
indexes keep the hot paths (due jobs, queued runs, expired leases, the change feed)
proportional to the work, not to the table size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.types import BigId, JSONDoc, UTCDateTime, utcnow
from app.domain import retry

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ids must never be reused, even after the newest row was deleted: the change feed, the
# audit log and clients hold ids, and a replay must never show two different jobs under
# one id. PostgreSQL's identity sequences never go back; SQLite reuses the highest rowid
# unless the table is AUTOINCREMENT (migration 0003). Not on run_logs: its ids are never
# shown (lines are addressed by run and seq) and it takes the most inserts.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONDoc}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")  # admin | member | viewer
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # Access tokens issued before this are refused (sign-out everywhere, password reset).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = NEVER_REUSE_IDS


class RefreshToken(Base):
    """Opaque refresh tokens, stored hashed. Rotated on use; reuse revokes the family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = NEVER_REUSE_IDS


class ResetToken(Base):
    """Password-reset tokens: 32 random bytes, stored hashed, single use, short-lived."""

    __tablename__ = "reset_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = NEVER_REUSE_IDS


class ApiToken(Base):
    """Tokens for machine clients (`Authorization: Bearer dts_…`), stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so people recognise it
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16), default="read")  # read | write
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = NEVER_REUSE_IDS


class RateLimit(Base):
    """Fixed-window counters shared by every API process (failed logins, reset requests)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(16))  # http | script
    # The HTTP request or the script argv/cwd/env; secret header values are encrypted.
    spec: Mapped[dict[str, Any]]
    # Schedule: kind cron (expression + timezone), interval (every N s from an anchor), at.
    schedule_kind: Mapped[str] = mapped_column(String(16), default="cron")
    cron: Mapped[str | None] = mapped_column(String(200), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    interval_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    anchor_at: Mapped[datetime | None] = mapped_column(default=None)
    run_at: Mapped[datetime | None] = mapped_column(default=None)
    # Policies.
    max_attempts: Mapped[int] = mapped_column(Integer, default=retry.DEFAULT_MAX_ATTEMPTS)
    retry_initial_delay: Mapped[float] = mapped_column(Float, default=retry.DEFAULT_INITIAL_DELAY)
    retry_max_delay: Mapped[float] = mapped_column(Float, default=retry.DEFAULT_MAX_DELAY)
    retry_multiplier: Mapped[float] = mapped_column(Float, default=retry.DEFAULT_MULTIPLIER)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=60.0)
    concurrency: Mapped[str] = mapped_column(String(16), default="allow")  # allow|forbid|replace
    misfire: Mapped[str] = mapped_column(String(16), default="coalesce")  # coalesce|all|skip
    misfire_limit: Mapped[int] = mapped_column(Integer, default=100)  # cap for misfire=all
    starting_deadline_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    # Scheduler state: the next occurrence not yet materialised (NULL: nothing to schedule).
    next_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_scheduled_for: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # The scheduler tick scans only jobs that are due: cost follows due jobs, not all jobs.
        Index("ix_jobs_due", "next_run_at", postgresql_where=text("next_run_at IS NOT NULL")),
        Index("ix_jobs_owner_name", "owner_id", "name"),
        NEVER_REUSE_IDS,
    )


RUN_STATUSES = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
    "lost",
    "skipped",
    "missed",
)
ACTIVE_STATUSES = ("queued", "running")


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    # Denormalised so access checks and feed filtering need no join.
    owner_id: Mapped[int] = mapped_column(BigId)
    scheduled_for: Mapped[datetime]
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    # The first attempt's id: the Idempotency-Key stays the same across retries.
    root_run_id: Mapped[int | None] = mapped_column(BigId, default=None)
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule|manual|retry
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Earliest time a worker may start it (retries wait for their backoff).
    run_after: Mapped[datetime]
    # A run not started by then is recorded `missed` (the job's starting deadline).
    start_deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    worker_id: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    http_status: Mapped[int | None] = mapped_column(Integer, default=None)
    exit_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    output: Mapped[str | None] = mapped_column(Text, default=None)
    log_lines: Mapped[int] = mapped_column(Integer, default=0)
    log_bytes: Mapped[int] = mapped_column(Integer, default=0)
    log_truncated: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("job_id", "scheduled_for", "attempt", name="uq_runs_occurrence"),
        # Claiming: queued runs in due order. Partial: finished runs (nearly all of the
        # table) are not in it, so a claim costs the same whatever the history's size.
        Index(
            "ix_runs_queued",
            "run_after",
            "id",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        # Starting deadlines: only queued runs that have one.
        Index(
            "ix_runs_deadline",
            "start_deadline_at",
            postgresql_where=text("status = 'queued' AND start_deadline_at IS NOT NULL"),
            sqlite_where=text("status = 'queued' AND start_deadline_at IS NOT NULL"),
        ),
        # Recovery: running runs whose lease expired.
        # Recovery: running runs by lease expiry.
        Index(
            "ix_runs_running",
            "lease_expires_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        Index("ix_runs_job_history", "job_id", "id"),
        # Concurrency policy: "is a run of this job active?" without scanning its history.
        Index(
            "ix_runs_active",
            "job_id",
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
        Index("ix_runs_owner", "owner_id", "id"),
        Index("ix_runs_finished", "finished_at"),
        NEVER_REUSE_IDS,
    )


class RunLog(Base):
    __tablename__ = "run_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    stream: Mapped[str] = mapped_column(String(8))  # stdout | stderr | system
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_run_logs_run_seq"),)


class Event(Base):
    """The change feed: appended in the same transaction as the change it describes."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(BigId, default=None)
    run_id: Mapped[int | None] = mapped_column(BigId, default=None)
    owner_id: Mapped[int | None] = mapped_column(BigId, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    # Subscribers resume "after id N": not even retention pruning the newest rows may
    # let an id come back.
    __table_args__ = NEVER_REUSE_IDS


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    running: Mapped[int] = mapped_column(Integer, default=0)
    capacity: Mapped[int] = mapped_column(Integer, default=16)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    actor_id: Mapped[int | None] = mapped_column(BigId, default=None)
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = NEVER_REUSE_IDS


class Monitor(Base):
    """A heartbeat monitor: a cron job running elsewhere pings its secret URL; dts notices
    when the ping does not come (late, then down) or a run takes too long.

    `deadline_at` is when the tick must look at the monitor next (the expected ping for
    `up`, the end of the grace time for `late`, start + max duration for `running`); NULL
    when nothing can happen without a ping (new, down, paused). The tick's query reads
    only monitors past their deadline (`ix_monitors_due`).
    """

    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # 122 random bits (uuid4): the only secret a ping carries.
    ping_key: Mapped[str] = mapped_column(String(36), unique=True)
    schedule_kind: Mapped[str] = mapped_column(String(16))  # cron | period
    cron: Mapped[str | None] = mapped_column(String(200), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    period_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    grace_seconds: Mapped[float] = mapped_column(Float, default=300.0)
    max_duration_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    state: Mapped[str] = mapped_column(String(16), default="new")  # new|up|late|down|running
    ran_too_long: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    last_ping_at: Mapped[datetime | None] = mapped_column(default=None)
    last_start_at: Mapped[datetime | None] = mapped_column(default=None)
    next_expected_at: Mapped[datetime | None] = mapped_column(default=None)
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index(
            "ix_monitors_due",
            "deadline_at",
            "state",
            postgresql_where=text("deadline_at IS NOT NULL"),
        ),
        Index("ix_monitors_owner_name", "owner_id", "name"),
        NEVER_REUSE_IDS,
    )


class MonitorPing(Base):
    """One ping received: its kind, exit status, body (≤ 100 KB, the run's log) and sender."""

    __tablename__ = "monitor_pings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # success | start | fail
    exit_status: Mapped[int | None] = mapped_column(Integer, default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    remote_addr: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)

    __table_args__ = (Index("ix_monitor_pings_history", "monitor_id", "id"), NEVER_REUSE_IDS)


# --- alerting (docs/alerting.md) -------------------------------------------------------


class AlertChannel(Base):
    """Where notifications go: e-mail, a signed webhook, a Slack-compatible webhook.

    `config` holds the target; its secret parts (webhook URLs, signing secrets) are
    encrypted like secret job headers and never returned after creation.
    """

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Shared channels (made by an admin) may be chosen by every user's rules.
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # email | webhook | slack
    config: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = NEVER_REUSE_IDS


class AlertRule(Base):
    """When to notify about one subject (a job, a monitor) or, with no subject, the
    owner's defaults for subjects without a rule of their own."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(16))  # job | monitor | default
    subject_id: Mapped[int] = mapped_column(BigId, default=0)  # 0 for the owner's defaults
    channel_ids: Mapped[list[int]] = mapped_column(JSONDoc, default=list)
    on_failure: Mapped[bool] = mapped_column(Boolean, default=True)
    failure_threshold: Mapped[int] = mapped_column(Integer, default=1)
    on_timed_out: Mapped[bool] = mapped_column(Boolean, default=True)
    on_lost: Mapped[bool] = mapped_column(Boolean, default=True)
    on_missed: Mapped[bool] = mapped_column(Boolean, default=False)
    on_skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    on_recovery: Mapped[bool] = mapped_column(Boolean, default=True)
    remind_every_hours: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("owner_id", "subject", "subject_id", name="uq_alert_rules_subject"),
        NEVER_REUSE_IDS,
    )


class AlertStreak(Base):
    """Consecutive problem occurrences of a subject, and its open incident if any.

    One row per subject, locked while an outcome is applied: two workers finishing runs
    of one job at once count both, and open one incident between them."""

    __tablename__ = "alert_streaks"

    subject: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    open_incident_id: Mapped[int | None] = mapped_column(BigId, default=None)
    # The last occurrence counted: a second report of it (a retry) is not a new failure.
    last_occurrence: Mapped[str | None] = mapped_column(String(200), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """One failing streak of a subject: opened by the first notifying problem, resolved by
    the next success."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(BigId)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))  # the problem that opened it
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    summary: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    # When the next reminder is due (the rule's remindEveryHours); NULL: none.
    remind_at: Mapped[datetime | None] = mapped_column(default=None)
    name: Mapped[str] = mapped_column(String(200), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_incidents_subject", "subject", "subject_id", "id"),
        Index(
            "ix_incidents_remind",
            "remind_at",
            postgresql_where=text("status = 'open' AND remind_at IS NOT NULL"),
            sqlite_where=text("status = 'open' AND remind_at IS NOT NULL"),
        ),
        NEVER_REUSE_IDS,
    )


class Notification(Base):
    """The outbox: one message for one channel, written in the transaction that caused
    it, delivered by workers (claim, lease, retry with backoff). `idempotency_key` makes a
    second copy of the same notice for the same channel impossible."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(BigId, default=None)
    owner_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))  # opened | reminder | recovered | test
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    worker_id: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_notifications_sending",
            "lease_expires_at",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
        NEVER_REUSE_IDS,
    )
