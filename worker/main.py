"""The worker process: scheduler tick, claiming, execution, heartbeats, recovery, retention.

Loops, each an asyncio task:
- tick: materialise due occurrences (sleeps until the next due job, at most the poll interval);
- claim: take queued runs up to free capacity; woken by LISTEN on PostgreSQL (a trigger
  or new run starts within milliseconds), polling every `DTS_POLL_INTERVAL` on SQLite;
- heartbeat: extend our leases each second; learn about cancellations and lost leases;
  abandon runs whose lease we could not renew in time (database unreachable, partition);
- maintenance: recover runs whose worker died (expired lease), prune old history.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import math
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app import __version__
from app.config import Settings
from app.db.engine import Database
from app.db.types import utcnow
from app.domain.job_spec import HttpSpec, JobSpec, ScriptSpec
from app.services import outbox, throttle
from app.services.jobs import reveal_spec
from app.services.secrets import SecretBox
from worker.claims import (
    ClaimedRun,
    Outcome,
    claim_runs,
    heartbeat,
    next_queued_at,
    prune_history,
    recover_expired,
    register_worker,
    unregister_worker,
)
from worker.executors.base import ExecutionContext, ExecutionResult
from worker.executors.factory import make_http_executor
from worker.executors.script import ScriptExecutor
from worker.logs import Recorder, RunLogBuffer
from worker.redaction import Redactor
from worker.tick import next_due_at, tick

log = logging.getLogger("dts.worker")

# When saturated, how long a claim waits for more slots to free up (batching claims).
CLAIM_BATCH_WINDOW = 0.01
# Queued runs past their starting deadline are marked missed this often (the claim never
# takes them in any case).
EXPIRE_EVERY = 1.0

Clock = Callable[[], datetime]


@dataclass
class ActiveRun:
    claimed: ClaimedRun
    ctx: ExecutionContext
    logs: RunLogBuffer
    renewed_at: float  # time.monotonic() when our lease was last set (claim or heartbeat)
    task: asyncio.Task[None] | None = None
    finished: bool = False  # the executor returned: the result is real, only unrecorded
    lost: bool = False  # our lease is gone: finish quietly, write nothing
    handed_back: bool = False
    spec: JobSpec | None = None
    redact: Callable[[str], str] = str


@dataclass
class WorkerStats:
    claimed: int = 0
    claims: int = 0  # claim transactions that took at least one run
    completed: int = 0
    fenced: int = 0
    abandoned: int = 0
    recovered: int = 0
    ticks: int = 0
    started: float = field(default_factory=time.monotonic)


def worker_session_settings(lease_seconds: float) -> dict[str, str]:
    """PostgreSQL settings for a worker's connections.

    Worker transactions take row locks (a run being recorded, renewed, claimed) and last
    milliseconds. If the worker stops mid-transaction — partitioned from the database,
    SIGSTOPped, its host frozen — the server would keep those locks until TCP notices the
    peer is gone (hours, by default), and every other worker's recovery scan (`SKIP
    LOCKED`) would pass over the run: it would stay `running` long after its lease. These
    make the server end such a session, releasing its locks, well within a lease: idle in
    a transaction, or with sent data unacknowledged, for a third of the lease.
    """
    limit_ms = str(int(max(1.0, lease_seconds / 3) * 1000))
    return {
        "application_name": "dts-worker",
        "idle_in_transaction_session_timeout": limit_ms,
        "tcp_user_timeout": limit_ms,
    }


def make_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class WorkerProcess:
    def __init__(
        self,
        settings: Settings,
        *,
        db: Database | None = None,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        wake: asyncio.Event | None = None,
        tick_wake: asyncio.Event | None = None,
    ) -> None:
        """`wake` wakes the claim loop (new runs queued), `tick_wake` the scheduler tick
        (a job's next run time changed); both are also set by PostgreSQL's NOTIFY."""
        self.settings = settings
        # No pre-ping: every loop and every write here is retried after a connection error.
        self.db = db or Database(
            settings.database_url,
            pre_ping=False,
            session_settings=worker_session_settings(settings.lease_seconds),
        )
        self._own_db = db is None
        self.clock = clock
        self.id = worker_id or make_worker_id()
        self.capacity = settings.worker_concurrency
        self.lease = settings.lease_seconds
        self.heartbeat_every = max(0.2, min(1.0, self.lease / 3))
        self.secrets = SecretBox(settings)
        self.http = make_http_executor(
            settings.http_client,
            allow_private=settings.http_allow_private,
            user_agent=f"dts/{__version__}",
            max_connections=max(16, self.capacity * 2),
        )
        self.script = ScriptExecutor(
            settings.script_root, max_output_bytes=settings.output_max_bytes
        )
        # Runs we hold: executing, or finished and waiting for the recorder (still ours,
        # so their leases are renewed). A slot is free once its run has finished
        # executing: the next claim overlaps the previous results' write.
        self.active: dict[int, ActiveRun] = {}
        self.executing = 0
        self.recorder = Recorder(self.db, self.id, clock)
        self.wake = wake or asyncio.Event()
        self.tick_wake = tick_wake or asyncio.Event()
        self.stats = WorkerStats()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then shut down gracefully."""
        await register_worker(
            self.db,
            self.id,
            socket.gethostname(),
            os.getpid(),
            __version__,
            self.capacity,
            self.clock(),
        )
        log.info("worker %s started (capacity %d, %s)", self.id, self.capacity, self.db.dialect)
        self.recorder.start()
        loops = [
            self._tick_loop,
            self._claim_loop,
            self._heartbeat_loop,
            self._maintenance_loop,
            self._outbox_loop,
        ]
        if self.db.is_postgres:
            loops.append(self._listen_loop)
        self._tasks = [asyncio.create_task(self._guard(loop), name=loop.__name__) for loop in loops]
        await stop.wait()
        await self.shutdown()

    async def _guard(self, loop: Callable[[], object]) -> None:
        """Keep a loop alive through database outages: log, back off, resume."""
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                await loop()  # type: ignore[misc]
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                name = getattr(loop, "__name__", "loop")
                detail = str(error).splitlines()[0] if str(error) else ""
                log.warning(
                    "%s failed (%s: %s); retrying in %.1fs",
                    name,
                    type(error).__name__,
                    detail,
                    backoff,
                )
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def shutdown(self) -> None:
        self._stopping.set()
        self.wake.set()
        self.tick_wake.set()
        # A claim in flight is let finish, not cancelled: its runs are already ours in the
        # database, so they are started and drained like the others (cancelling it would
        # leave them `running` with nobody on them until their lease expired).
        claiming = [t for t in self._tasks if t.get_name() == "_claim_loop"]
        if claiming:
            await asyncio.wait(claiming, timeout=10)
        for task in self._tasks:
            if task.get_name() != "_heartbeat_loop":
                task.cancel()
        running = [a.task for a in self.active.values() if a.task]
        if running:
            log.info(
                "waiting up to %.0fs for %d run(s)",
                self.settings.shutdown_grace_seconds,
                len(running),
            )
            await asyncio.wait(running, timeout=self.settings.shutdown_grace_seconds)
        leftover = [a for a in self.active.values() if a.task and not a.task.done()]
        for active in leftover:
            active.handed_back = True
            active.ctx.cancelled.set()
        if leftover:
            await asyncio.wait([a.task for a in leftover if a.task], timeout=15)
        await self.recorder.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await unregister_worker(self.db, self.id, self.clock())
        await self.http.aclose()
        await self.script.aclose()
        if self._own_db:
            await self.db.dispose()
        rec = self.recorder.stats
        log.info(
            "worker %s stopped: %d run(s) claimed in %d claim(s), %d completed, %d fenced off; "
            "%d record(s) written in %d transaction(s) (largest %d)",
            self.id,
            self.stats.claimed,
            self.stats.claims,
            self.stats.completed,
            self.stats.fenced,
            rec.records,
            rec.cycles,
            rec.largest,
        )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), max(seconds, 0))

    # --- loops ----------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        poll = self.settings.poll_interval
        while not self._stopping.is_set():
            self.tick_wake.clear()
            now = self.clock()
            began = time.monotonic()
            lookahead = self.settings.schedule_lookahead
            stats = await tick(self.db, now, lookahead=lookahead)
            self.stats.ticks += 1
            if stats.jobs:
                log.debug(
                    "tick: %d job(s) due, %d run(s) queued in %.0f ms",
                    stats.jobs,
                    stats.queued,
                    (time.monotonic() - began) * 1000,
                )
            if stats.queued:
                self.wake.set()
            due = await next_due_at(self.db)
            wait = poll
            if due is not None:
                wait = (due - self.clock()).total_seconds()
                # Wake `lookahead` early to queue it ahead — unless that moment has passed
                # (a forbid/replace job, decided only at its time): then at its time.
                if wait - lookahead > 0:
                    wait -= lookahead
            # Until the next job is due, or a job's schedule changes (NOTIFY dts_jobs, or
            # this process's own API in `dts up`), or the poll interval.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.tick_wake.wait(), min(poll, max(wait, 0.005)))

    async def _claim_loop(self) -> None:
        fallback = self.settings.poll_interval if self.db.is_sqlite else 1.0
        expired_at = 0.0
        while not self._stopping.is_set():
            self.wake.clear()
            free = self.capacity - self.executing
            claimed: list[ClaimedRun] = []
            if free > 0:
                asked = time.monotonic()  # the lease runs from before we asked, to be safe
                expire = asked - expired_at >= EXPIRE_EVERY
                claimed = await claim_runs(
                    self.db, self.id, free, self.clock(), self.lease, expire_deadlines=expire
                )
                if expire:
                    expired_at = asked
                for run in claimed:
                    self._start(run, asked)
                self.stats.claimed += len(claimed)
                self.stats.claims += bool(claimed)
                if claimed:
                    log.debug(
                        "claimed %d run(s) in %.0f ms",
                        len(claimed),
                        (time.monotonic() - asked) * 1000,
                    )
            if claimed and len(claimed) == free:
                await self._gather_free_slots()  # there may be more: claim when slots free up
                continue
            # Nothing more is due: sleep until a wake-up (NOTIFY, a local trigger, a finished
            # run), the next queued run's time (a retry's backoff), or the fallback poll.
            timeout = fallback
            upcoming = await next_queued_at(self.db, self.clock())
            if upcoming is not None:
                timeout = min(fallback, max(0.001, (upcoming - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    async def _gather_free_slots(self) -> None:
        """Saturated: wait for a free slot, then a moment for more.

        Runs finish in bursts; waiting up to CLAIM_BATCH_WINDOW for a quarter of the slots
        lets one claim round trip serve several runs instead of one each.
        """
        while self.capacity - self.executing <= 0 and not self._stopping.is_set():
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), 1.0)
        wanted = max(1, self.capacity // 4)
        deadline = time.monotonic() + CLAIM_BATCH_WINDOW
        while self.capacity - self.executing < wanted and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), remaining)

    async def _heartbeat_loop(self) -> None:
        """Renew our leases every `heartbeat_every`; give up runs we can no longer renew.

        The database decides who owns a run (every write is fenced on the lease). This loop
        adds the local half: when renewals keep failing or hang (database down, network
        partition) until a run's lease is nearly out, another worker may be about to
        recover it, so we stop it here and write nothing more about it, rather than let it
        run on unobserved for as long as the outage lasts. A renewal that hangs counts as
        failed: it is waited for in slices, never trusted to return.
        """
        pending: asyncio.Task[tuple[set[int], set[int]]] | None = None
        sent_ids: list[int] = []
        sent_at = 0.0
        failures = 0
        try:
            while True:
                slice_started = time.monotonic()
                if pending is None:
                    sent_ids, sent_at = list(self.active), slice_started
                    pending = asyncio.create_task(
                        heartbeat(
                            self.db, self.id, sent_ids, self.clock(), self.lease, self.capacity
                        )
                    )
                await asyncio.wait({pending}, timeout=self.heartbeat_every)
                if pending.done():
                    done, pending = pending, None
                    try:
                        owned, cancel = done.result()
                    except Exception as error:
                        failures += 1
                        if failures == 1 or failures % 30 == 0:
                            detail = str(error).splitlines()[0] if str(error) else ""
                            log.warning(
                                "heartbeat failed %d time(s) (%s: %s); leases not renewed",
                                failures,
                                type(error).__name__,
                                detail,
                            )
                    else:
                        if failures:
                            log.warning("heartbeat: renewed again after %d failure(s)", failures)
                        failures = 0
                        self._apply_heartbeat(sent_ids, sent_at, owned, cancel)
                self._abandon_unrenewed()
                if self._stopping.is_set() and not self.active:
                    return
                await asyncio.sleep(
                    max(0.0, slice_started + self.heartbeat_every - time.monotonic())
                )
        finally:
            if pending is not None:
                pending.cancel()

    def _apply_heartbeat(
        self, ids: list[int], sent_at: float, owned: set[int], cancel: set[int]
    ) -> None:
        for run_id in ids:
            active = self.active.get(run_id)
            if active is None:
                continue
            if run_id in owned:
                active.renewed_at = max(active.renewed_at, sent_at)
                if run_id in cancel:
                    active.ctx.cancelled.set()
            elif not (active.finished or active.lost):
                log.warning(
                    "run %s: lease lost (recovered elsewhere, or job deleted); stopping it",
                    run_id,
                )
                active.lost = True
                active.ctx.cancelled.set()

    def _abandon_unrenewed(self) -> None:
        """Stop runs still executing whose lease we failed to renew for nearly its length."""
        limit = self.lease - self.heartbeat_every
        now = time.monotonic()
        for run_id, active in self.active.items():
            if active.finished or active.lost or now - active.renewed_at < limit:
                continue
            log.warning(
                "run %s: lease not renewed for %.1fs (database unreachable?); abandoning it: "
                "it is stopped here and nothing more is written; the worker that recovers it "
                "after the lease (%gs) marks it lost and retries it",
                run_id,
                now - active.renewed_at,
                self.lease,
            )
            self.stats.abandoned += 1
            active.lost = True
            active.logs.fenced = True  # drop buffered lines: the run is no longer ours
            active.ctx.cancelled.set()

    async def _maintenance_loop(self) -> None:
        every = max(1.0, min(10.0, self.lease / 3))
        last_prune = 0.0
        while not self._stopping.is_set():
            self.stats.recovered += await recover_expired(self.db, self.clock())
            if time.monotonic() - last_prune > 3600:
                cutoff = self.clock() - timedelta(days=self.settings.retention_days)
                removed = await prune_history(self.db, cutoff)
                removed += await throttle.prune(self.db, now=self.clock())
                removed += await outbox.prune(self.db, cutoff)
                if removed:
                    log.info("retention: pruned %d old row(s)", removed)
                last_prune = time.monotonic()
            await self._sleep(every)

    async def _outbox_loop(self) -> None:
        """Deliver notifications (app.services.outbox): a full batch is followed at once
        by the next one; otherwise the outbox is looked at again about once a second."""
        from app.services.channels import ChannelSender

        sender = ChannelSender(self.settings, self.secrets)
        every = min(1.0, self.settings.poll_interval * 2)
        last_reminders = -math.inf
        while not self._stopping.is_set():
            if time.monotonic() - last_reminders >= outbox.REMIND_EVERY_SECONDS:
                await outbox.remind_due(self.db, self.clock())
                last_reminders = time.monotonic()
            claimed = await outbox.deliver_due(self.db, sender, self.id, self.clock())
            if claimed < outbox.BATCH:
                await self._sleep(every)

    async def _listen_loop(self) -> None:
        """LISTEN dts_runs; re-established whenever the connection drops, then resync."""
        import asyncpg
        from sqlalchemy.engine import make_url

        url = make_url(self.db.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stopping.is_set():
            closed = asyncio.Event()
            try:
                conn = await asyncpg.connect(dsn, timeout=10)
            except Exception as error:
                log.warning("LISTEN connection failed (%s); retrying", error)
                await self._sleep(1.0)
                continue
            try:
                conn.add_termination_listener(lambda _c, done=closed: done.set())
                await conn.add_listener("dts_runs", lambda *_args: self.wake.set())
                await conn.add_listener("dts_jobs", lambda *_args: self.tick_wake.set())
                self.tick_wake.set()
                self.wake.set()  # resync: anything queued while we were away
                while not closed.is_set() and not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), 5.0)
                    if not closed.is_set() and not self._stopping.is_set():
                        await conn.execute("SELECT 1")  # notice a dead server promptly
            except Exception as error:
                log.warning("LISTEN connection lost (%s); reconnecting", error)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)
            await self._sleep(0.5)

    # --- execution ------------------------------------------------------------------------

    def _start(self, run: ClaimedRun, renewed_at: float) -> None:
        # Decrypted once: the executor sends the secrets, the redactor keeps them out of logs
        # and outputs, even if a target echoes them.
        spec: JobSpec | None
        try:
            spec = reveal_spec(run.job_type, run.job_spec, self.secrets)
        except Exception:
            log.exception("run %s: the job's stored request cannot be read", run.id)
            spec = None
        redact = Redactor.for_spec(spec)
        logs = self.recorder.buffer(run, max_lines=self.settings.log_max_lines, redact=redact)
        ctx = ExecutionContext(
            run_id=run.id,
            attempt=run.attempt,
            idempotency_key=run.idempotency_key,
            timeout_seconds=run.timeout_seconds,
            log=logs.write,
            job_id=run.job_id,
            job_name=run.job_name,
        )
        active = ActiveRun(run, ctx, logs, renewed_at, spec=spec, redact=redact)
        self.active[run.id] = active
        self.executing += 1
        active.task = asyncio.create_task(self._execute(active), name=f"run-{run.id}")

    async def _execute(self, active: ActiveRun) -> None:
        run, ctx = active.claimed, active.ctx
        try:
            try:
                result = await self._run_executor(run, ctx, active.spec)
            finally:
                self.executing -= 1
                self.wake.set()  # a free slot
            # A result that came before we knew the lease was gone is real: it is offered to
            # the database below, which records it or refuses it (fencing). A result that
            # came after is the stop we caused: it is not recorded at all.
            active.finished = True
            if active.handed_back:
                await self.recorder.finish(active.logs, None, release=True)
                return
            if active.lost:
                active.logs.fenced = True
                self.stats.fenced += 1
                log.warning(
                    "run %s: finished after losing its lease; outcome %s not recorded",
                    run.id,
                    result.outcome,
                )
                return
            outcome = Outcome(
                status=result.outcome,
                http_status=result.http_status,
                exit_code=result.exit_code,
                error=active.logs.storable(active.redact(result.error)) if result.error else None,
                output=(
                    active.logs.storable(active.redact(result.output)) if result.output else None
                ),
                retryable=result.retryable,
                retry_after=result.retry_after,
                log_truncated=result.output_truncated,
            )
            # Batched with other runs' outcomes; its last log lines go in first.
            ok = await self.recorder.finish(active.logs, outcome)
            self.stats.completed += ok
            self.stats.fenced += not ok
        finally:
            self.active.pop(run.id, None)
            self.wake.set()

    async def _run_executor(
        self, run: ClaimedRun, ctx: ExecutionContext, spec: JobSpec | None
    ) -> ExecutionResult:
        started = time.monotonic()
        try:
            if spec is None:
                raise ValueError(
                    "the job's stored request cannot be read (was DTS_SECRET_KEY changed?)"
                )
            if isinstance(spec, HttpSpec):
                return await self.http.execute(spec, ctx)
            if isinstance(spec, ScriptSpec):
                return await self.script.execute(spec, ctx)
            raise TypeError(f"unknown job type {run.job_type}")
        except Exception as error:
            log.exception("run %s: executor error", run.id)
            with contextlib.suppress(Exception):
                await ctx.log("system", f"dts internal error: {type(error).__name__}: {error}")
            return ExecutionResult(
                outcome="failed",
                duration=time.monotonic() - started,
                error=f"internal error in the worker: {type(error).__name__}: {error}",
                retryable=True,
            )


PR_SET_DUMPABLE = 4


def make_non_dumpable() -> bool:
    """Keep scripts from reading this process's secrets through /proc.

    Script jobs run as the worker's OS user, and a process of the same user may read
    another's /proc/<pid>/environ and memory — the database URL and secret key among them.
    A non-dumpable process's /proc files belong to root. Children are dumpable again after
    exec, so scripts are unaffected. Returns whether it took effect (Linux only).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


async def run_worker(settings: Settings) -> None:
    """`dts worker`: run until SIGTERM/SIGINT, then drain gracefully and exit 0."""
    make_non_dumpable()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = WorkerProcess(settings)
    await worker.run(stop)
