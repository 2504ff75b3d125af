"""Run logs and outcomes on their way to the database: one writer per worker, in batches.

Each running run has a `RunLogBuffer` that its executor writes lines into (no database
work on the run's own path). The worker's `Recorder` is the only task that writes runs'
lines and outcomes: every cycle it takes what is pending — the outcomes of runs that
finished since the last cycle (with their last lines) and, every FLUSH_INTERVAL, the lines
of runs still running — and writes all of it in one transaction (`record_runs`). While a
cycle is in the database, finishing runs queue up for the next one, so the batch grows
with the load (group commit) and an idle worker still records a lone run at once.

One writer also orders things: a run's lines are always written before its outcome, and
sequence numbers are assigned only here, so nothing interleaves.

What a job prints is not always storable: PostgreSQL text (and jsonb, the change feed's
payload) cannot hold a NUL character, and no engine takes a lone surrogate. Lines and
outcome texts are escaped on their way in (`storable_text`), and the run's log says so
once. Should a batch still be refused for its data, it is written again run by run, so
only the run at fault is affected: its unstorable part is replaced by a note and it ends
`failed` with an error saying why (not `lost`, and not run again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import DataError, StatementError

from app.db.engine import Database
from worker.claims import ClaimedRun, Outcome, Record, record_runs

log = logging.getLogger("dts.logs")

FLUSH_INTERVAL = 0.2  # lines of running runs reach the database (and live viewers) this often
FLUSH_LINES = 200  # ... or as soon as one run has this many waiting
MAX_BATCH = 256  # runs per transaction
RECORD_ATTEMPTS = 10  # an outcome the database keeps refusing is dropped after this many

# NUL (PostgreSQL text and jsonb refuse it) and lone surrogates (not UTF-8 at all).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
ESCAPED_NOTE = (
    "[this run's output contained characters that cannot be stored (NUL bytes or invalid "
    "Unicode); they are shown escaped, as \\x00 or \\udXXX]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def storable_text(text: str) -> str:
    """`text` with what a database cannot store escaped visibly (NUL → `\\x00`); the same
    object when there is nothing to escape."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(_escape, text)


class RunLogBuffer:
    """A run's log lines not yet written. After `max_lines` it keeps accepting (the job is
    never blocked) but stores one truncation marker and drops the rest. Once `fenced` (the
    run is no longer ours) it drops everything."""

    def __init__(
        self,
        run: ClaimedRun,
        *,
        max_lines: int,
        clock: Callable[[], datetime],
        redact: Callable[[str], str] = lambda text: text,
        on_write: Callable[[RunLogBuffer], None] = lambda _buffer: None,
    ) -> None:
        self.run = run
        self.max_lines = max_lines
        self.clock = clock
        self.redact = redact
        self.next_seq = run.log_lines + 1
        self.accepted = run.log_lines
        self.dropped = 0
        self.fenced = False
        self.truncated = False
        self.escaped = False  # ESCAPED_NOTE was logged
        self.lines: list[tuple[datetime, str, str]] = []
        self._on_write = on_write

    async def write(self, stream: str, text: str) -> None:
        if self.fenced:
            return
        if self.accepted >= self.max_lines:
            self.dropped += 1
            if not self.truncated:
                self.truncated = True
                self.lines.append(
                    (self.clock(), "system", f"[log truncated after {self.max_lines} lines]")
                )
                self._on_write(self)
            return
        self.accepted += 1
        text = self.redact(text)
        clean = storable_text(text)
        self.lines.append((self.clock(), stream, clean))
        if clean is not text:
            self._note_escaped()
        self._on_write(self)

    def storable(self, text: str) -> str:
        """`storable_text(text)` for an outcome's texts; the log says so if it escaped."""
        clean = storable_text(text)
        if clean is not text:
            self._note_escaped()
            self._on_write(self)
        return clean

    def _note_escaped(self) -> None:
        # Once per run, outside the line cap like the truncation marker: never lost.
        if not self.escaped and not self.fenced:
            self.escaped = True
            self.lines.append((self.clock(), "system", ESCAPED_NOTE))

    def take(self, outcome: Outcome | None = None, *, release: bool = False) -> Record:
        """Everything pending, as one record; `restore` puts the lines back if it fails."""
        lines, self.lines = self.lines, []
        return Record(
            self.run,
            self.next_seq,
            lines,
            truncated=self.truncated,
            outcome=outcome,
            release=release,
        )

    def restore(self, record: Record) -> None:
        self.lines = record.lines + self.lines

    def written(self, record: Record) -> None:
        self.next_seq += len(record.lines)


@dataclass
class _Finish:
    buffer: RunLogBuffer
    outcome: Outcome | None
    release: bool
    done: asyncio.Future[bool]
    attempts: int = 0


@dataclass
class RecorderStats:
    cycles: int = 0
    records: int = 0
    failures: int = 0
    largest: int = 0
    _started: float = field(default_factory=time.monotonic)


class Recorder:
    """The worker's single writer of run log lines and outcomes (see the module doc)."""

    def __init__(self, db: Database, worker_id: str, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.worker_id = worker_id
        self.clock = clock
        self.stats = RecorderStats()
        self._finishing: list[_Finish] = []
        self._dirty: dict[int, RunLogBuffer] = {}
        self._wake = asyncio.Event()
        self._next_log_flush = 0.0
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="recorder")

    def buffer(
        self,
        run: ClaimedRun,
        *,
        max_lines: int,
        redact: Callable[[str], str] = lambda text: text,
    ) -> RunLogBuffer:
        return RunLogBuffer(
            run, max_lines=max_lines, clock=self.clock, redact=redact, on_write=self._wrote
        )

    def _wrote(self, buffer: RunLogBuffer) -> None:
        if not self._dirty:
            self._next_log_flush = time.monotonic() + FLUSH_INTERVAL
            self._wake.set()  # the loop may be waiting without a timeout: set one
        self._dirty[buffer.run.id] = buffer
        if len(buffer.lines) >= FLUSH_LINES:
            self._wake.set()

    async def finish(
        self, buffer: RunLogBuffer, outcome: Outcome | None, *, release: bool = False
    ) -> bool:
        """Record a run's outcome (or hand it back, `release`) with its last lines; True
        once committed, False if the run was no longer ours or the database kept failing."""
        if buffer.fenced:
            return False
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._finishing.append(_Finish(buffer, outcome, release, done))
        self._wake.set()
        return await asyncio.shield(done)

    async def close(self) -> None:
        """Write what is pending, then stop (after every run has finished)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), 30)
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        for item in self._finishing:
            if not item.done.done():
                item.done.set_result(False)

    async def _loop(self) -> None:
        backoff = 0.2
        while True:
            if not self._finishing and not (self._closing and self._dirty):
                if self._closing:
                    return
                timeout = None
                if self._dirty:
                    timeout = max(0.0, self._next_log_flush - time.monotonic())
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            try:
                failed = await self._cycle()
            except Exception:  # a bug here must not leave runs waiting forever
                log.exception("recorder: unexpected error; pending outcomes dropped")
                for item in self._finishing:
                    if not item.done.done():
                        item.done.set_result(False)
                self._finishing = []
                failed = True
            if failed:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            else:
                backoff = 0.2

    async def _cycle(self) -> bool:
        """One transaction's worth; returns whether the database refused it."""
        finishing, self._finishing = self._finishing[:MAX_BATCH], self._finishing[MAX_BATCH:]
        records: list[tuple[RunLogBuffer, Record]] = []
        for item in finishing:
            self._dirty.pop(item.buffer.run.id, None)
            records.append((item.buffer, item.buffer.take(item.outcome, release=item.release)))
        now_mono = time.monotonic()
        flush_logs = (
            self._closing
            or now_mono >= self._next_log_flush
            or any(len(b.lines) >= FLUSH_LINES for b in self._dirty.values())
        )
        if flush_logs and self._dirty:
            room = MAX_BATCH - len(records)
            buffers = list(self._dirty.values())[:room]
            for buffer in buffers:
                del self._dirty[buffer.run.id]
                if buffer.lines and not buffer.fenced:
                    records.append((buffer, buffer.take()))
            if self._dirty:
                self._wake.set()  # more than one batch waiting
            else:
                self._next_log_flush = now_mono + FLUSH_INTERVAL
        if not records:
            return False

        owned, written, unwritten, error = await self._write(records)
        if written:
            self.stats.cycles += 1
            self.stats.records += len(written)
            self.stats.largest = max(self.stats.largest, len(written))
        for buffer, record in written:
            if record.run.id in owned:
                buffer.written(record)
            else:
                buffer.fenced = True
                buffer.lines = []
        if unwritten:
            self.stats.failures += 1
            detail = str(error).splitlines()[0] if str(error) else ""
            log.warning(
                "could not record %d run(s) (%s: %s); retrying",
                len(unwritten),
                type(error).__name__,
                detail,
            )
            for buffer, record in unwritten:
                buffer.restore(record)
                if record.outcome is None and not record.release:
                    self._wrote(buffer)
        written_ids = {record.run.id for _, record in written}
        retry: list[_Finish] = []
        for item in finishing:
            run_id = item.buffer.run.id
            if run_id in written_ids:
                item.done.set_result(run_id in owned)
                continue
            item.attempts += 1
            if item.attempts < RECORD_ATTEMPTS:
                retry.append(item)
                continue
            log.error(
                "run %s: outcome dropped: the database did not answer; the lease will "
                "expire and the run will be recovered (marked lost) and retried",
                run_id,
            )
            item.buffer.fenced = True
            item.done.set_result(False)
        self._finishing = retry + self._finishing
        return bool(unwritten)

    async def _write(
        self, records: list[tuple[RunLogBuffer, Record]]
    ) -> tuple[
        set[int],
        list[tuple[RunLogBuffer, Record]],
        list[tuple[RunLogBuffer, Record]],
        Exception | None,
    ]:
        """Write `records` in one transaction: (runs owned, pairs written — with the record
        actually written —, pairs not written, the error). If the database refuses the
        batch for its data, each run is written alone, and a run it still refuses is
        written without what could not be stored (`_unstorable`): one bad record must not
        keep the others — other users' runs among them — from being recorded."""
        try:
            owned = await self._record([record for _, record in records])
            return owned, records, [], None
        except Exception as error:
            if not is_data_error(error):
                return set(), [], records, error
            batch_error = error
        if len(records) > 1:
            log.warning(
                "recording %d run(s) refused for their data (%s); writing them one by one",
                len(records),
                _first_line(batch_error),
            )
        owned = set()
        written: list[tuple[RunLogBuffer, Record]] = []
        unwritten: list[tuple[RunLogBuffer, Record]] = []
        last: Exception | None = None
        for buffer, record in records:
            refusal = batch_error
            if len(records) > 1:
                try:
                    owned |= await self._record([record])
                    written.append((buffer, record))
                    continue
                except Exception as error:
                    if not is_data_error(error):
                        unwritten.append((buffer, record))
                        last = error
                        continue
                    refusal = error
            replacement = self._unstorable(record, refusal)
            try:
                owned |= await self._record([replacement])
            except Exception as error:
                unwritten.append((buffer, record))
                last = error
                continue
            written.append((buffer, replacement))
        return owned, written, unwritten, last

    async def _record(self, records: list[Record]) -> set[int]:
        return await record_runs(self.db, self.worker_id, records, self.clock())

    def _unstorable(self, record: Record, error: Exception) -> Record:
        """`record` without what the database refused: its lines become one note, and an
        outcome becomes `failed` (not retried: the same output would be refused again)."""
        reason = storable_text(_first_line(error))
        log.error("run %s: its log or result could not be stored: %s", record.run.id, reason)
        lines = [
            (
                self.clock(),
                "system",
                f"[{len(record.lines)} log line(s) could not be stored and were dropped: {reason}]",
            )
        ]
        outcome = record.outcome
        if outcome is not None:
            outcome = Outcome(
                status="failed",
                http_status=outcome.http_status,
                exit_code=outcome.exit_code,
                error=f"the run's log or result could not be stored ({reason}); "
                f"the job itself {outcome.status.replace('_', ' ')}",
                retryable=False,
                log_truncated=outcome.log_truncated,
            )
        return Record(
            record.run,
            record.first_seq,
            lines if record.lines or outcome is not None else [],
            truncated=record.truncated,
            outcome=outcome,
            release=record.release,
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return line if len(line) <= 300 else line[:299] + "…"


def is_data_error(error: BaseException) -> bool:
    """Whether the database refused a write for what it contained (a value it cannot
    store), rather than for being unreachable: only then does writing the same rows again
    — alone, or without the bad values — make sense."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, DataError | UnicodeError):
            return True
        sqlstate = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("22"):  # class 22: data exception
            return True
        if isinstance(seen, StatementError) and seen.orig is not None and seen.orig is not seen:
            seen = seen.orig
        else:
            seen = seen.__cause__ or seen.__context__
    return False
