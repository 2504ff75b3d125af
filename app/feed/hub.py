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

from sqlalchemy import bindparam, func, select

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


_EVENTS = Event.__table__.c
_READ = (
    select(
        _EVENTS.id,
        _EVENTS.kind,
        _EVENTS.job_id,
        _EVENTS.run_id,
        _EVENTS.owner_id,
        _EVENTS.payload,
        _EVENTS.created_at,
    )
    .where(_EVENTS.id > bindparam("after"))
    .order_by(_EVENTS.id)
    .limit(bindparam("limit"))
)
_READ_UPTO = _READ.where(_EVENTS.id <= bindparam("upto"))


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
        self._reads = (
            db.engine.execution_options(isolation_level="AUTOCOMMIT")
            if db.is_postgres
            else db.engine
        )

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
        self,
        after_id: int,
        limit: int = READ_BATCH,
        upto: int | None = None,
        *,
        clear_wake: bool = False,
    ) -> list[FeedEvent]:
        """Events after `after_id` (up to `upto`), in id order. `clear_wake`: the read
        loop's, which must see again any wake-up that arrives once this read can miss it."""
        # Core rows, not ORM objects, and on PostgreSQL one statement in autocommit: every
        # API process reads each batch of events as it is announced, so this runs several
        # times per run started, in the event loop that answers requests.
        if upto is None:
            query, params = _READ, {"after": after_id, "limit": limit}
        else:
            query, params = _READ_UPTO, {"after": after_id, "upto": upto, "limit": limit}
        async with self._reads.connect() as connection:
            if clear_wake:
                # Connected (and pinged): the SELECT goes out next. A NOTIFY that arrived
                # until now is for a commit it will see; one that arrives from now on may
                # not be, and must send the loop round again rather than be lost until the
                # next one (or the 2 s fallback).
                self._wake.clear()
            rows = await connection.execute(query, params)
            return [
                FeedEvent(row[0], row[1], row[2], row[3], row[4], row[5] or {}, row[6])
                for row in rows
            ]

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
                batch = await self.read(self.last_id, clear_wake=True)
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
                # Backlog (or recovery after an overflow) straight from the table. Events
                # already in our queue need no read: the hub advances `last_id` as it queues
                # them, several per batch, and any gap before the queue's head is read below.
                while (
                    delivered < self.last_id and subscriber.queue.empty()
                ) or subscriber.overflowed:
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
                while event.id > delivered + 1:
                    # Events between were published before we attached, or dropped when
                    # the queue was full: read them, however many batches that takes.
                    missing = await self.read(delivered, upto=event.id - 1)
                    if not missing:
                        break  # ids of rolled-back transactions: nothing to read
                    for earlier in missing:
                        delivered = earlier.id
                        yield earlier
                delivered = event.id
                yield event
        finally:
            self._subscribers.discard(subscriber)
