"""`/metrics`: Prometheus metrics of the whole system, as seen from one API process.

Two sources, chosen per series for cost and meaning:

- At scrape time, from the database (a few indexed aggregate queries): runs by status,
  queue depth (due now, or waiting for a retry backoff), the age of the oldest due run,
  active workers (a heartbeat within 3 leases), jobs active and paused. These are gauges of
  the shared state: every API process reports the same values, so aggregate with `max`.
- From the change feed, which every API process tails anyway: run durations and start lag
  (histograms) and finished runs by status (a counter), observed as `run.started` and
  `run.finished` events arrive. They count from the process's start, as Prometheus
  counters do; every API process sees every event, so aggregate these with `max` as well,
  not `sum`. Start lag is `started_at - scheduled_for` of first attempts (a retry's lag would
  include its backoff); for a manual trigger `scheduled_for` is the trigger time.

Monitors and alerting (scrape time, like the first group): monitors by state (paused ones
as `paused`), notifications in the outbox by status and channel kind (sent and failed ones
are kept for `DTS_RETENTION_DAYS`, so watch their change, e.g. `delta(...[1h])`), and the
outbox backlog (pending notifications due now or waiting for a retry's backoff, and the
age of the oldest due one). Pings are counted by the API process that received them
(`dts_pings_received_total`, `dts_pings_refused_total`): aggregate those with `sum`.

API request latency is per process (a pure ASGI middleware, so websockets pass untouched),
labelled by route template (`/api/jobs/{id}`), never by raw path, to bound cardinality.
Each app has its own `CollectorRegistry`, so tests can build several apps in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.models import (
    RUN_STATUSES,
    AlertChannel,
    Job,
    Monitor,
    Notification,
    Run,
    Worker,
)
from app.domain.monitor_state import PING_KINDS, STATES
from app.feed.hub import FeedEvent

if TYPE_CHECKING:
    from app.context import Services

log = logging.getLogger("dts.metrics")

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
FINISHING_KINDS = ("run.finished", "run.cancelled", "run.skipped", "run.missed")
STALE_LEASES = 3
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MONITOR_STATES = (*STATES, "paused")
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed")
CHANNEL_KINDS = ("email", "webhook", "slack")
PING_REFUSALS = ("not_found", "too_large", "rate_limited")


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _age(now: datetime, oldest: Any) -> float:
    """Seconds since `oldest` (an aggregate's result; 0 when None)."""
    if isinstance(oldest, str):  # SQLite may hand back an aggregate of times as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest).total_seconds())


class Metrics:
    """The metrics of one API app: its registry, its series, and the feed consumer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Gauge("dts_runs", "Runs in the database by status", ["status"], registry=r)
        self.queue_depth = Gauge(
            "dts_queue_depth",
            "Queued runs: due (may start now) or waiting (a retry's backoff)",
            ["state"],
            registry=r,
        )
        self.oldest_due = Gauge(
            "dts_queue_oldest_due_seconds",
            "How long the oldest due queued run has been waiting (0 when none)",
            registry=r,
        )
        self.workers = Gauge(
            "dts_workers_active",
            "Workers with a heartbeat within 3 leases",
            registry=r,
        )
        self.worker_slots = Gauge(
            "dts_worker_slots",
            "Run slots of active workers: capacity, and in use (running)",
            ["state"],
            registry=r,
        )
        self.jobs = Gauge("dts_jobs", "Jobs by state (active or paused)", ["state"], registry=r)
        self.run_duration = Histogram(
            "dts_run_duration_seconds",
            "Run duration (started to finished) by final status",
            ["status"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.start_lag = Histogram(
            "dts_run_start_lag_seconds",
            "started_at - scheduled_for of first attempts, by trigger",
            ["trigger"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.finished = Counter(
            "dts_runs_finished",
            "Runs that reached a final status since this process started",
            ["status"],
            registry=r,
        )
        self.requests = Histogram(
            "dts_http_request_duration_seconds",
            "API request latency by method, route template and status",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.monitors = Gauge(
            "dts_monitors",
            "Heartbeat monitors by state (paused ones as paused)",
            ["state"],
            registry=r,
        )
        self.pings = Counter(
            "dts_pings_received",
            "Pings recorded by this process, by kind (success, start, fail)",
            ["kind"],
            registry=r,
        )
        self.pings_refused = Counter(
            "dts_pings_refused",
            "Ping requests this process refused: not_found (404), too_large (413), "
            "rate_limited (429)",
            ["reason"],
            registry=r,
        )
        self.notifications = Gauge(
            "dts_notifications",
            "Alert notifications in the outbox by status (pending, sending, sent, failed) and "
            "channel kind; sent and failed ones are kept for DTS_RETENTION_DAYS",
            ["status", "channel"],
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "dts_outbox_backlog",
            "Pending notifications: due (to be sent now) or waiting (a retry's backoff)",
            ["state"],
            registry=r,
        )
        self.outbox_oldest_due = Gauge(
            "dts_outbox_oldest_due_seconds",
            "How long the oldest due notification has been waiting (0 when none)",
            registry=r,
        )
        for kind in PING_KINDS:  # present from the start, at 0
            self.pings.labels(kind)
        for reason in PING_REFUSALS:
            self.pings_refused.labels(reason)
        self.scrape_errors = Counter(
            "dts_metrics_scrape_errors",
            "Scrapes whose database queries failed (the gauges keep their last values)",
            registry=r,
        )
        self._task: asyncio.Task[None] | None = None

    def ping(self, kind: str) -> None:
        """A ping was recorded (`kind` in PING_KINDS) or refused (a PING_REFUSALS reason)."""
        if kind in PING_KINDS:
            self.pings.labels(kind).inc()
        elif kind in PING_REFUSALS:
            self.pings_refused.labels(kind).inc()

    # --- the change feed --------------------------------------------------------------

    def observe(self, event: FeedEvent) -> None:
        payload = event.payload or {}
        if event.kind == "run.started":
            started = _instant(payload.get("startedAt"))
            scheduled = _instant(payload.get("scheduledFor"))
            if started and scheduled and payload.get("attempt", 1) == 1:
                trigger = str(payload.get("trigger") or "schedule")
                self.start_lag.labels(trigger).observe(
                    max(0.0, (started - scheduled).total_seconds())
                )
        elif event.kind in FINISHING_KINDS:
            status = str(payload.get("status") or event.kind.removeprefix("run."))
            if status not in RUN_STATUSES:
                return
            self.finished.labels(status).inc()
            started = _instant(payload.get("startedAt"))
            finished = _instant(payload.get("finishedAt"))
            if started and finished:
                self.run_duration.labels(status).observe(
                    max(0.0, (finished - started).total_seconds())
                )

    async def _consume(self, services: Services) -> None:
        while True:
            try:
                async for event in services.feed.subscribe():
                    self.observe(event)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the feed recovers by itself; so do we
                log.warning("metrics: change feed subscription failed (%s); resubscribing", error)
                await asyncio.sleep(1)

    def start(self, services: Services) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._consume(services), name="metrics-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    # --- scrape time ------------------------------------------------------------------

    async def refresh(self, services: Services) -> None:
        now = services.clock()
        stale = now - timedelta(seconds=services.settings.lease_seconds * STALE_LEASES)
        async with services.db.session() as session:
            by_status: dict[str, int] = {
                status: count
                for status, count in await session.execute(
                    select(Run.status, func.count()).group_by(Run.status)
                )
            }
            due, waiting, oldest = (
                await session.execute(
                    select(
                        func.count().filter(Run.run_after <= now),
                        func.count().filter(Run.run_after > now),
                        func.min(Run.run_after).filter(Run.run_after <= now),
                    ).where(Run.status == "queued")
                )
            ).one()
            active_workers, capacity, running = (
                await session.execute(
                    select(
                        func.count(),
                        func.coalesce(func.sum(Worker.capacity), 0),
                        func.coalesce(func.sum(Worker.running), 0),
                    ).where(Worker.stopped_at.is_(None), Worker.last_heartbeat_at >= stale)
                )
            ).one()
            jobs: dict[bool, int] = {
                bool(paused): count
                for paused, count in await session.execute(
                    select(Job.paused, func.count()).group_by(Job.paused)
                )
            }
            monitors: dict[str, int] = {}
            for state, paused, count in await session.execute(
                select(Monitor.state, Monitor.paused, func.count()).group_by(
                    Monitor.state, Monitor.paused
                )
            ):
                key = "paused" if paused else str(state)
                monitors[key] = monitors.get(key, 0) + count
            notifications: dict[tuple[str, str], int] = {
                (str(status), str(kind)): count
                for status, kind, count in await session.execute(
                    select(Notification.status, AlertChannel.kind, func.count())
                    .join(AlertChannel, AlertChannel.id == Notification.channel_id)
                    .group_by(Notification.status, AlertChannel.kind)
                )
            }
            # Pending rows only: the partial index ix_notifications_due answers it.
            outbox_due, outbox_waiting, outbox_oldest = (
                await session.execute(
                    select(
                        func.count().filter(Notification.next_attempt_at <= now),
                        func.count().filter(Notification.next_attempt_at > now),
                        func.min(Notification.next_attempt_at).filter(
                            Notification.next_attempt_at <= now
                        ),
                    ).where(Notification.status == "pending")
                )
            ).one()
        for status in RUN_STATUSES:
            self.runs.labels(status).set(by_status.get(status, 0))
        for state in MONITOR_STATES:
            self.monitors.labels(state).set(monitors.get(state, 0))
        kinds = sorted({*CHANNEL_KINDS, *(kind for _, kind in notifications)})
        for status in NOTIFICATION_STATUSES:
            for kind in kinds:
                self.notifications.labels(status, kind).set(notifications.get((status, kind), 0))
        self.outbox_backlog.labels("due").set(outbox_due or 0)
        self.outbox_backlog.labels("waiting").set(outbox_waiting or 0)
        self.outbox_oldest_due.set(_age(now, outbox_oldest))
        self.queue_depth.labels("due").set(due or 0)
        self.queue_depth.labels("waiting").set(waiting or 0)
        self.oldest_due.set(_age(now, oldest))
        self.workers.set(active_workers or 0)
        self.worker_slots.labels("capacity").set(capacity or 0)
        self.worker_slots.labels("running").set(running or 0)
        self.jobs.labels("active").set(jobs.get(False, 0))
        self.jobs.labels("paused").set(jobs.get(True, 0))

    async def render(self, services: Services) -> bytes:
        try:
            await self.refresh(services)
        except Exception as error:
            self.scrape_errors.inc()
            log.warning("metrics: database queries failed (%s)", error)
        return generate_latest(self.registry)


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    body = await metrics.render(request.app.state.services)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Times each HTTP request; labels it with the matched route's template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = (getattr(route, "path", None) or "/") if route is not None else "unmatched"
            method = scope.get("method", "GET")
            if method not in KNOWN_METHODS:
                method = "other"
            self.metrics.requests.labels(method, template, str(status)).observe(
                time.perf_counter() - start
            )
