"""Tailing the change feed: one reader per API process, fanned out to every subscriber.

The hub reads `events` after the last id it saw — woken at once by `LISTEN dts_events` on
PostgreSQL, every `poll_interval` on SQLite — and hands each event to every subscriber's
in-memory queue. Subscribers cost no database connection. A subscriber that asks to resume
after event N first reads the backlog from the table, then continues live; events are
de-duplicated by id, so a reconnecting client misses nothing and sees nothing twice.
A subscriber that falls too far behind (queue full) is switched back to reading the table.

Ids are allocated when a transaction inserts its events but become visible when it
commits, so on PostgreSQL event 101 can appear before event 100. The hub therefore
publishes a *watermark*: it advances past a gap in the ids only once the gap is filled,
or after `GAP_WAIT` seconds (the id belonged to a transaction that rolled back). Readers
never look past the watermark, so nobody skips an event that commits late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Event

log = logging.getLogger("dts.feed")

QUEUE_SIZE = 10_000
READ_BATCH = 1_000
GAP_WAIT = 3.0
GAP_RECHECK = 0.02


@dataclass(frozen=True)
class FeedEvent:
    id: int
    kind: str
    job_id: int | None
    run_id: int | None
    owner_id: int | None
    payload: dict[str, Any]
    created_at: datetime


def _event(row: Event) -> FeedEvent:
    return FeedEvent(
        row.id, row.kind, row.job_id, row.run_id, row.owner_id, row.payload or {}, row.created_at
    )


class _Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[FeedEvent] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False


class FeedHub:
    def __init__(self, db: Database, *, poll_interval: float = 0.1) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.last_id = 0
        self._subscribers: set[_Subscriber] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._gap_since: dict[int, float] = {}

    async def start(self) -> None:
        if self._task is not None:
            return
        try:
            self.last_id = await self.latest_id()
        except Exception as error:  # the database may be down at start; the loop retries
            log.warning("change feed: cannot read the latest event yet (%s)", error)
        self._task = asyncio.create_task(self._read_loop(), name="feed-reader")
        if self.db.is_postgres:
            self._listener = asyncio.create_task(self._listen_loop(), name="feed-listen")

    async def stop(self) -> None:
        for task in (self._task, self._listener):
            if task is not None:
                task.cancel()
        for task in (self._task, self._listener):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._listener = None

    def poke(self) -> None:
        """Read now (e.g. after this process wrote an event)."""
        self._wake.set()

    async def latest_id(self) -> int:
        async with self.db.session() as session:
            return int(await session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0)

    async def read(
        self, after_id: int, limit: int = READ_BATCH, upto: int | None = None
    ) -> list[FeedEvent]:
        query = select(Event).where(Event.id > after_id)
        if upto is not None:
            query = query.where(Event.id <= upto)
        async with self.db.session() as session:
            rows = await session.scalars(query.order_by(Event.id).limit(limit))
            return [_event(row) for row in rows]

    def _contiguous(self, batch: list[FeedEvent]) -> tuple[list[FeedEvent], bool]:
        """The prefix of `batch` safe to publish, and whether a gap held the rest back."""
        expected = self.last_id + 1
        for index, event in enumerate(batch):
            if event.id != expected:
                first_seen = self._gap_since.setdefault(expected, time.monotonic())
                if time.monotonic() - first_seen < GAP_WAIT:
                    return batch[:index], True
                self._gap_since.pop(expected, None)  # a rolled-back id: stop waiting for it
            expected = event.id + 1
        self._gap_since.clear()
        return batch, False

    async def _read_loop(self) -> None:
        backoff = 0.5
        while True:
            try:
                batch = await self.read(self.last_id)
                backoff = 0.5
            except Exception as error:
                log.warning("change feed: read failed (%s); retrying", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)
                continue
            ready, held = self._contiguous(batch)
            for event in ready:
                self.last_id = event.id
                for subscriber in list(self._subscribers):
                    try:
                        subscriber.queue.put_nowait(event)
                    except asyncio.QueueFull:
                        subscriber.overflowed = True
            if len(batch) == READ_BATCH and not held:
                continue
            self._wake.clear()
            wait = self.poll_interval if not self.db.is_postgres else 2.0
            if held:
                wait = GAP_RECHECK
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _listen_loop(self) -> None:
        import asyncpg
        from sqlalchemy.engine import make_url

        dsn = make_url(self.db.url).set(drivername="postgresql").render_as_string(False)
        while True:
            closed = asyncio.Event()
            try:
                conn = await asyncpg.connect(dsn, timeout=10)
            except Exception as error:
                log.warning("change feed: LISTEN connection failed (%s); retrying", error)
                await asyncio.sleep(1)
                continue
            try:
                conn.add_termination_listener(lambda _c, done=closed: done.set())
                await conn.add_listener("dts_events", lambda *_: self._wake.set())
                self._wake.set()  # catch up on anything written while we were away
                while not closed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), 5)
                    if not closed.is_set():
                        await conn.execute("SELECT 1")
            except Exception as error:
                log.warning("change feed: LISTEN connection lost (%s); reconnecting", error)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)
            await asyncio.sleep(0.5)

    async def subscribe(self, after_id: int | None = None) -> AsyncIterator[FeedEvent]:
        """Events after `after_id` (None: from now on), backlog first, then live, in id order."""
        subscriber = _Subscriber()
        self._subscribers.add(subscriber)
        try:
            delivered = self.last_id if after_id is None else after_id
            while True:
                # Backlog (or recovery after an overflow) straight from the table.
                while delivered < self.last_id or subscriber.overflowed:
                    subscriber.overflowed = False
                    batch = await self.read(delivered, upto=self.last_id)
                    if not batch:
                        break
                    for event in batch:
                        delivered = event.id
                        yield event
                event = await subscriber.queue.get()
                if event.id <= delivered:
                    continue
                if event.id > delivered + 1:
                    # Events between were published before we attached: read them.
                    for missing in await self.read(delivered, upto=event.id - 1):
                        delivered = missing.id
                        yield missing
                delivered = event.id
                yield event
        finally:
            self._subscribers.discard(subscriber)
