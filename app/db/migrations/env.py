"""Alembic environment: migrations run in batch mode on SQLite, plainly on PostgreSQL.

`app.db.migrate` hands a live (sync-facing) connection in `config.attributes`; the
stand-alone path below serves `alembic -c app/db/alembic.ini revision --autogenerate`.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from app.db.engine import create_engine
from app.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _standalone() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_with)
    finally:
        await engine.dispose()


given = config.attributes.get("connection")
if given is not None:
    run_with(given)
else:
    asyncio.run(_standalone())
