"""Fresh databases for each benchmark, migrated, and dropped afterwards whatever happens.

SQLite: a file in a temporary directory. PostgreSQL: `CREATE DATABASE dts_bench_<random>`
on the server of `DTS_BENCH_PG_URL` (default postgres@127.0.0.1:5432/test), dropped
`WITH (FORCE)` so worker connections left behind cannot keep it alive.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from app.db.engine import Database
from app.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "DTS_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ENGINES = ("postgres", "sqlite")
_CREATED: set[str] = set()  # PostgreSQL databases not dropped yet (for the final sweep)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


def pg_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return driver + base[base.index(":") :] + "/" + name


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _drop(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _CREATED.discard(name)


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """An empty PostgreSQL database (no schema); yields its name."""
    name = f"dts_bench_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    _CREATED.add(name)
    try:
        yield name
    finally:
        await asyncio.shield(_drop(name))


@asynccontextmanager
async def fresh_database(engine: str, *, pool_size: int = 10) -> AsyncIterator[Database]:
    """A migrated, empty dts database on `engine` ("postgres" or "sqlite")."""
    if engine == "postgres":
        async with fresh_postgres() as name:
            db = Database(pg_url(name), pool_size=pool_size)
            try:
                await upgrade(db)
                yield db
            finally:
                await db.dispose()
        return
    if engine != "sqlite":
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    directory = Path(tempfile.mkdtemp(prefix="dts-bench-"))
    db = Database(f"sqlite+aiosqlite:///{directory / 'bench.db'}")
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()
        shutil.rmtree(directory, ignore_errors=True)


def drop_leftovers() -> None:
    """Drop databases whose context never finished (the bench was interrupted hard)."""
    if not _CREATED:
        return

    async def sweep() -> None:
        for name in list(_CREATED):
            try:
                await _drop(name)
            except Exception as error:
                print(f"bench: could not drop database {name}: {error}")

    asyncio.run(sweep())


async def postgres_reachable() -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=5)
    except Exception as error:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({type(error).__name__}: {error})"
    await conn.close()
    return None
