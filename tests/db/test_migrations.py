"""Migrations build the whole schema from zero on both engines, and agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db.engine import Database
from app.db.migrate import check, current_revision, head_revision, upgrade
from app.db.models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(db: Database) -> None:
    # `db` was built by running every migration from an empty database.
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations differ on {db.dialect}: {diff}"


async def test_schema_is_at_head_and_has_every_table(db: Database) -> None:
    assert await current_revision(db) == head_revision()
    assert await check(db) == head_revision()
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    expected = {
        "users",
        "refresh_tokens",
        "reset_tokens",
        "api_tokens",
        "jobs",
        "runs",
        "run_logs",
        "events",
        "workers",
        "audit_log",
        "rate_limits",
    }
    assert expected <= tables


async def test_upgrade_from_zero_on_fresh_sqlite_and_downgrade(tmp_path) -> None:
    from alembic import command

    from app.db.migrate import alembic_config

    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'x.db'}")
    try:
        assert await current_revision(database) is None
        await upgrade(database)
        await upgrade(database)  # idempotent
        assert await current_revision(database) == head_revision()

        def _down(connection: Connection) -> None:
            config = alembic_config(database.url)
            config.attributes["connection"] = connection
            command.downgrade(config, "base")

        async with database.engine.begin() as conn:
            await conn.run_sync(_down)
        assert await current_revision(database) is None
    finally:
        await database.dispose()
