"""Test harness: every storage-touching test runs on SQLite and on PostgreSQL.

`db` is parametrised over both engines. Each test session gets its own SQLite file and its
own PostgreSQL database (created on 127.0.0.1:5432, dropped at the end), migrated once;
tables are emptied before each test. Without PostgreSQL the `postgres` cases are skipped
with the reason shown, except under CI=true, where that is a failure.

The failure drills (tests/drills, marker `drill`) kill processes, restart a PostgreSQL
cluster and create network namespaces: they are opt-in, run only with DTS_DRILLS=1
(`make drills`; `.ci/run` sets it), and skipped with that reason otherwise.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from app.config import Settings, is_ci
from app.db.engine import Database
from app.db.migrate import upgrade
from app.db.models import Base

PG_ADMIN_URL = os.environ.get(
    "DTS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ENGINES = ["sqlite", "postgres"]


class FakeClock:
    """An injectable clock: tests jump across DST changes and outages without waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self._now += timedelta(seconds=seconds, **kwargs)
        return self._now


def drills_enabled() -> bool:
    return os.environ.get("DTS_DRILLS", "").strip().lower() in ("1", "true", "yes", "on")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if drills_enabled():
        return
    opt_in = pytest.mark.skip(reason="failure drill: opt-in (`make drills` or DTS_DRILLS=1)")
    for item in items:
        if item.get_closest_marker("drill") is not None:
            item.add_marker(opt_in)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _postgres_reachable() -> str | None:
    import asyncpg

    dsn = PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=5)
    except Exception as error:
        return f"PostgreSQL at {dsn} is not reachable ({type(error).__name__}: {error})"
    await conn.close()
    return None


@pytest.fixture(scope="session")
def tmp_session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dts")


@pytest.fixture(scope="session")
async def sqlite_url(tmp_session_dir: Path) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_session_dir / 'test.db'}"
    database = Database(url)
    await upgrade(database)
    await database.dispose()
    yield url


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    import asyncpg

    problem = await _postgres_reachable()
    if problem:
        if is_ci():
            pytest.fail(f"CI=true and {problem}: PostgreSQL tests must not be skipped in CI")
        pytest.skip(f"{problem}; start it to run the PostgreSQL cases")
    name = f"dts_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin_dsn = PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql")
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    database = Database(url)
    await upgrade(database)
    await database.dispose()
    yield url
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def truncate_all(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with db.engine.begin() as conn:
        if db.is_postgres:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))
            await conn.execute(text("DELETE FROM sqlite_sequence"))  # events' AUTOINCREMENT


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(engine_name: str, request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if engine_name == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on the engine of this parametrisation."""
    database = Database(database_url)
    await truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        script_root=Path(__file__).resolve().parent.parent,
        jwt_secret="test-secret-" + "x" * 32,
        secret_key=None,
        lease_seconds=5,
    )


@pytest.fixture
def repo_root() -> Iterator[Path]:
    yield Path(__file__).resolve().parent.parent
