"""Apply and check Alembic migrations from async code (CLI, server start, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from app.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(db: Database, revision: str = "head") -> None:
    config = alembic_config(db.url)

    def _upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Several processes (api, workers) may start at once: one migrates, the rest wait.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7320431)")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def current_revision(db: Database) -> str | None:
    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


class SchemaOutOfDate(Exception):
    pass


async def check(db: Database) -> str:
    """Return the current revision; raise SchemaOutOfDate if it is not the code's head."""
    current = await current_revision(db)
    head = head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at revision {current or 'none'}, this dts needs {head}; "
            "run `dts migrate`"
        )
    return current
