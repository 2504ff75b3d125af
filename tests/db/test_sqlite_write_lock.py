"""SQLite writers queue for the write lock (SQLiteWriteLock) instead of sleeping in
SQLite's busy handler: across Database objects (as across processes) and within one."""

from __future__ import annotations

import asyncio
import fcntl
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db.engine import Database


async def _hold(db: Database, seconds: float, held: asyncio.Event) -> None:
    async with db.write_connection() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES (1)"))
        held.set()
        await asyncio.sleep(seconds)


async def test_a_second_writer_waits_for_the_first_then_writes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    first, second = Database(url), Database(url)
    try:
        async with first.write_connection() as conn:
            await conn.execute(text("CREATE TABLE t (v INTEGER)"))
        held = asyncio.Event()
        holder = asyncio.create_task(_hold(first, 0.4, held))
        await held.wait()
        # The holder has the lock file: another process's writer would queue on it.
        with (tmp_path / "w.db.wlock").open("rb") as lock_file, pytest.raises(BlockingIOError):
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        started = time.monotonic()
        async with second.write_connection() as conn:  # waits for the lock file, no error
            waited = time.monotonic() - started
            await conn.execute(text("INSERT INTO t (v) VALUES (2)"))
        await holder
        assert waited >= 0.3
        async with second.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 2
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_writer_cancelled_while_waiting_leaves_the_lock_free(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    first, second = Database(url), Database(url)
    try:
        async with first.write_connection() as conn:
            await conn.execute(text("CREATE TABLE t (v INTEGER)"))
        held = asyncio.Event()
        holder = asyncio.create_task(_hold(first, 0.3, held))
        await held.wait()

        async def write() -> None:
            async with second.write_connection() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES (2)"))

        waiter = asyncio.create_task(write())
        await asyncio.sleep(0.1)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        await holder
        await asyncio.sleep(0.1)  # the waiting thread got the lock and gave it back
        started = time.monotonic()
        await asyncio.wait_for(_hold(first, 0, asyncio.Event()), 5)
        await asyncio.wait_for(write(), 5)
        assert time.monotonic() - started < 1.0
    finally:
        await first.dispose()
        await second.dispose()
