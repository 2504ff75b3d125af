"""The change feed's subscribers: events already queued cost no read of the table, and a
backlog of any size is delivered whole and in order, however live events interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import delete

from app.db.engine import Database
from app.db.models import Event
from app.feed.events import emit, event_row
from app.feed.hub import READ_BATCH, FeedEvent, FeedHub


async def add_events(db: Database, count: int) -> None:
    async with db.transaction() as session:
        await emit(session, [event_row("run.queued", payload={"n": i}) for i in range(count)])


def counting_reads(hub: FeedHub) -> list[tuple[int, int | None]]:
    reads: list[tuple[int, int | None]] = []
    real = hub.read

    async def read(after_id: int, limit: int = READ_BATCH, upto: int | None = None) -> Any:
        reads.append((after_id, upto))
        return await real(after_id, limit, upto)

    hub.read = read  # type: ignore[method-assign]
    return reads


async def attached(subscription: AsyncIterator[FeedEvent]) -> asyncio.Task[FeedEvent]:
    """The subscription's next event, pending: the subscriber is registered and waiting."""
    task = asyncio.ensure_future(asyncio.wait_for(subscription.__anext__(), 10))
    await asyncio.sleep(0.01)
    return task


def publish(hub: FeedHub, events: list[FeedEvent]) -> None:
    """What the hub's read loop does with a batch it read."""
    for event in events:
        hub.last_id = event.id
        for subscriber in hub._subscribers:
            subscriber.queue.put_nowait(event)


async def test_a_batch_of_queued_events_needs_no_read(db: Database) -> None:
    await add_events(db, 3)
    hub = FeedHub(db)
    batch = await hub.read(0)
    subscription = hub.subscribe()  # from now on: after id 0
    reads = counting_reads(hub)
    pending = await attached(subscription)
    publish(hub, batch)  # all three queued and last_id = 3 before the subscriber runs again
    got = [await pending, await anext(subscription), await anext(subscription)]
    assert [event.id for event in got] == [1, 2, 3]
    assert got[0].payload == {"n": 0} and got[0].kind == "run.queued"
    assert got[0].created_at.tzinfo is not None
    assert reads == []
    await subscription.aclose()


async def test_a_long_backlog_is_delivered_whole_while_live_events_arrive(db: Database) -> None:
    backlog = 2 * READ_BATCH + 500
    await add_events(db, backlog)
    hub = FeedHub(db)
    hub.last_id = backlog  # published before this subscriber attached
    subscription = hub.subscribe(after_id=0)
    first = await anext(subscription)  # attached; it has read the backlog's first batch
    await add_events(db, 1)
    publish(hub, await hub.read(backlog))  # a live event queued meanwhile
    ids = [first.id] + [(await anext(subscription)).id for _ in range(backlog)]
    assert ids == list(range(1, backlog + 2))
    await subscription.aclose()


async def test_ids_that_never_committed_are_skipped(db: Database) -> None:
    await add_events(db, 3)
    hub = FeedHub(db)
    one, _two, three = await hub.read(0)
    subscription = hub.subscribe()
    pending = await attached(subscription)
    publish(hub, [one])
    assert (await pending).id == 1
    pending = await attached(subscription)
    async with db.transaction() as session:  # 2 and 3 gone, 4 never committed
        await session.execute(delete(Event).where(Event.id.in_([2, 3])))
    publish(hub, [FeedEvent(5, "run.queued", None, None, None, {}, three.created_at)])
    assert (await pending).id == 5
    await subscription.aclose()


async def test_a_wake_up_during_a_read_is_not_lost(db: Database) -> None:
    """An event committed (and announced) after the read loop's SELECT, while that read is
    still returning, is read at once, not at the next announcement or fallback poll."""
    hub = FeedHub(db, poll_interval=30)  # SQLite's polling would hide a lost wake-up
    real = hub.read
    late_commits = [1]

    async def read(after_id: int, limit: int = READ_BATCH, upto: int | None = None, **kw: Any):
        batch = await real(after_id, limit, upto, **kw)
        if late_commits and kw.get("clear_wake"):
            late_commits.pop()
            await add_events(db, 1)  # committed after our SELECT ...
            hub.poke()  # ... and announced before the read returns
        return batch

    hub.read = read  # type: ignore[method-assign]
    subscription = hub.subscribe()
    pending = await attached(subscription)
    loop = asyncio.create_task(hub._read_loop())  # no LISTEN: only our wake-up
    try:
        assert (await asyncio.wait_for(pending, 1)).id == 1
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await subscription.aclose()
