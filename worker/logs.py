"""Streaming a run's log into the database while it runs, in small fenced batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from app.db.engine import Database
from worker.claims import ClaimedRun, PendingLogs, append_logs

log = logging.getLogger("dts.logs")

FLUSH_INTERVAL = 0.2
FLUSH_LINES = 200


class RunLogWriter:
    """Buffers lines and writes them every FLUSH_INTERVAL seconds (or FLUSH_LINES lines).

    Readers see output within a fraction of a second. After `max_lines` the writer keeps
    accepting (the script is never blocked) but stores one truncation marker and drops
    the rest. If a write is fenced off (the run is no longer ours) it stops writing.
    """

    def __init__(
        self,
        db: Database,
        worker_id: str,
        run: ClaimedRun,
        *,
        max_lines: int,
        clock: Callable[[], datetime],
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.db = db
        self.worker_id = worker_id
        self.run = run
        self.max_lines = max_lines
        self.clock = clock
        self.redact = redact
        self.next_seq = run.log_lines + 1
        self.accepted = run.log_lines
        self.dropped = 0
        self.fenced = False
        self._buffer: list[tuple[datetime, str, str]] = []
        self._truncated = False
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._flush_loop(), name=f"logs-{run.id}")

    async def write(self, stream: str, text: str) -> None:
        if self.fenced:
            return
        if self.accepted >= self.max_lines:
            self.dropped += 1
            if not self._truncated:
                self._truncated = True
                self._buffer.append(
                    (self.clock(), "system", f"[log truncated after {self.max_lines} lines]")
                )
            return
        self.accepted += 1
        self._buffer.append((self.clock(), stream, self.redact(text)))
        if len(self._buffer) >= FLUSH_LINES:
            self._wake.set()

    async def _flush_loop(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        if not self._buffer or self.fenced:
            return
        lines, self._buffer = self._buffer, []
        try:
            ok = await append_logs(
                self.db,
                self.worker_id,
                self.run,
                self.next_seq,
                lines,
                truncated=self._truncated,
            )
        except Exception as error:  # a database blip must not kill the run; retry next flush
            log.warning(
                "run %s: could not write %d log line(s): %s", self.run.id, len(lines), error
            )
            self._buffer = lines + self._buffer
            return
        if ok:
            self.next_seq += len(lines)
        else:
            self.fenced = True

    async def close(self, *, flush: bool = True) -> PendingLogs | None:
        """Stop the flush loop. With `flush=False` the unwritten lines are handed back, for
        the caller to write in the same transaction as the run's outcome (one round trip
        fewer per run); None if nothing is pending or the run is no longer ours."""
        self._closed = True
        self._wake.set()
        with contextlib.suppress(Exception):
            await self._task
        if not flush:
            if self.fenced or not self._buffer:
                return None
            pending = PendingLogs(self.next_seq, self._buffer, self._truncated)
            self._buffer = []
            return pending
        for _ in range(3):
            await self.flush()
            if not self._buffer:
                break
        return None
