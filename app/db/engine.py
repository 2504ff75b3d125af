"""Database access: one `Database` per process wrapping an async engine and its sessions.

SQLite notes: WAL lets readers run beside the single writer; `busy_timeout` makes writers
queue instead of failing; write transactions start with `BEGIN IMMEDIATE` so two
processes never both read-then-upgrade (the classic SQLITE_BUSY deadlock). PostgreSQL
takes row locks (`FOR UPDATE SKIP LOCKED`) inside ordinary transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


class SQLiteWriteLock:
    """Who may write to a SQLite database next: this process's writers in order (an
    asyncio lock), then across processes an exclusive `flock` on a lock file beside the
    database. SQLite's own locking stays the rule; this only replaces its busy handler,
    which sleeps (1, 2, 5 … 100 ms) and retries, with queues the OS and the event loop
    wake at once. Writers that do not take it (other tools) still meet the busy handler.
    """

    def __init__(self, url: str) -> None:
        self._local = asyncio.Lock()
        database = make_url(url).database
        self._path: Path | None = None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._path = Path(database).expanduser().with_name(Path(database).name + ".wlock")
        self._fd: int | None = None

    async def __aenter__(self) -> None:
        await self._local.acquire()
        try:
            if self._path is not None and fcntl is not None:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # another process writes: wait in a thread
                    await self._wait_for_flock(self._fd)
        except BaseException:
            self._local.release()
            raise

    @staticmethod
    async def _wait_for_flock(fd: int) -> None:
        assert fcntl is not None
        waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The thread cannot be stopped: when it gets the lock, give it straight back.
            def _give_back(done: asyncio.Future[None]) -> None:
                if not done.cancelled() and done.exception() is None:
                    with contextlib.suppress(OSError):  # closed meanwhile: released with it
                        fcntl.flock(fd, fcntl.LOCK_UN)

            waiting.add_done_callback(_give_back)
            raise

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._fd is not None and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._local.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    pre_ping: bool = True,
    session_settings: dict[str, str] | None = None,
) -> AsyncEngine:
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30},
        )
        _install_sqlite_hooks(engine.sync_engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        connect_args={
            "server_settings": {"application_name": "dts", **(session_settings or {})},
            "timeout": 10,
        },
    )


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Engine, session factory and the dialect-specific knobs services need."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        pre_ping: bool = True,
        session_settings: dict[str, str] | None = None,
    ) -> None:
        """`pre_ping=False` skips the pool's liveness check before each checkout (one round
        trip per transaction): for callers that retry on a dropped connection anyway, such
        as the worker, whose every loop and write is retried after an error. A dead pooled
        connection then fails its first statement, which invalidates the pool.
        `session_settings`: PostgreSQL settings for every connection (e.g. timeouts)."""
        self.url = url
        self.engine = create_engine(
            url,
            pool_size=pool_size,
            echo=echo,
            pre_ping=pre_ping,
            session_settings=session_settings,
        )
        self.dialect = self.engine.dialect.name
        self.is_sqlite = self.dialect == "sqlite"
        self.is_postgres = self.dialect == "postgresql"
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_engine = (
            self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        )
        self._write_sessions = async_sessionmaker(self._write_engine, expire_on_commit=False)
        self._sync_engine: Engine | None = None  # SQLite: run_write's (see there)
        # SQLite has one writer at a time: our writers queue for it (SQLiteWriteLock)
        # rather than sleep in SQLite's busy handler — a worker's claim loop, recorder and
        # tick, `dts up`'s API, and other worker processes on the same file.
        self._write_lock: SQLiteWriteLock | contextlib.nullcontext[None] = (
            SQLiteWriteLock(url) if self.is_sqlite else contextlib.nullcontext()
        )

    def session(self) -> AsyncSession:
        """A session for reads (and writes that need no early write lock)."""
        return self._sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, committed on success and rolled back on error.

        On SQLite it starts with BEGIN IMMEDIATE: the write lock is taken up front, so the
        reads inside it see exactly what the writes will be based on.
        """
        async with self._write_lock, self._write_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core write transaction (BEGIN IMMEDIATE on SQLite), for hot paths that need no
        ORM objects: no session bookkeeping per statement."""
        async with self._write_lock, self._write_engine.begin() as connection:
            yield connection

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run `work(connection)` — synchronous statements — as one write transaction.

        On SQLite the whole transaction runs in one hop to a thread, on a plain (sync)
        connection: the write lock is held only while SQLite works. Through aiosqlite every
        statement is a hop of its own, and between hops the lock waits for the event loop,
        which in a busy worker is serving hundreds of other tasks. Elsewhere it runs on an
        async connection through `run_sync` (each statement still awaits the driver).
        """
        if self.is_sqlite:
            async with self._write_lock:
                return await asyncio.to_thread(self._run_sync_write, work)
        async with self.write_connection() as connection:
            return await connection.run_sync(work)

    def _run_sync_write(self, work: Callable[[Connection], T]) -> T:
        if self._sync_engine is None:
            url = make_url(self.url).set(drivername="sqlite")
            self._sync_engine = sa_create_engine(
                url,
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_size=2,
                max_overflow=2,
            ).execution_options(sqlite_immediate=True)
            _install_sqlite_hooks(self._sync_engine)
        with self._sync_engine.begin() as connection:
            return work(connection)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            self._sync_engine = None
        if isinstance(self._write_lock, SQLiteWriteLock):
            self._write_lock.close()

    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)
