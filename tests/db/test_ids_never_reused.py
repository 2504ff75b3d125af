"""Ids are never handed out twice, on either engine (issue 12, item 8): SQLite used to
give the newest job's id, once deleted, to the next job, so the change feed's history
showed two different jobs under one id."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from app.db.engine import Database
from app.db.migrate import current_revision, head_revision, upgrade
from app.db.models import Event, Run
from tests.factories import add_user, http_job, services

RARELY = "0 0 1 1 *"


async def test_a_deleted_newest_job_and_its_runs_never_give_their_ids_away(
    db: Database, settings, clock
) -> None:
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, settings, clock.now)
    first = await jobs.create_job(owner, http_job(name="first", cron=RARELY))
    newest = await jobs.create_job(owner, http_job(name="newest", cron=RARELY))
    await runs.trigger_job(owner, first.id)
    newest_run = await runs.trigger_job(owner, newest.id)

    await jobs.delete_job(owner, newest.id)  # the newest job, and with it the newest run
    replacement = await jobs.create_job(owner, http_job(name="replacement", cron=RARELY))
    replacement_run = await runs.trigger_job(owner, replacement.id)

    assert replacement.id > newest.id
    assert replacement_run.id > newest_run.id
    # The feed's history names each job id once: `newest` and `replacement` stay apart.
    async with db.session() as session:
        created = list(
            await session.scalars(select(Event.job_id).where(Event.kind == "job.created"))
        )
    assert sorted(created) == sorted({first.id, newest.id, replacement.id})


async def test_a_deleted_newest_user_never_gives_its_id_away(db: Database) -> None:
    await add_user(db, "first@example.com")
    newest = await add_user(db, "newest@example.com")
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": newest.user_id})
    again = await add_user(db, "again@example.com")
    assert again.user_id > newest.user_id


async def test_sqlite_migration_keeps_every_row_and_reference(tmp_path: Path) -> None:
    """0003 rebuilds jobs, runs, users… on SQLite: nothing is lost on the way (dropping the
    old `jobs` with foreign keys on would have deleted every run), ids keep counting up."""
    path = tmp_path / "old.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(database, "0002")
        now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC).isoformat(" ")
        async with database.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, role, disabled, created_at, "
                    "updated_at) VALUES (1, 'ada@example.com', 'x', 'admin', 0, :t, :t)"
                ),
                {"t": now},
            )
            for job_id in (1, 2, 3):
                await conn.execute(
                    text(
                        "INSERT INTO jobs (id, owner_id, name, description, type, spec, "
                        "schedule_kind, cron, timezone, max_attempts, retry_initial_delay, "
                        "retry_max_delay, retry_multiplier, timeout_seconds, concurrency, "
                        "misfire, misfire_limit, paused, version, created_at, updated_at) "
                        "VALUES (:id, 1, :name, '', 'http', '{}', 'cron', '0 0 1 1 *', 'UTC', "
                        "1, 1, 1, 2, 30, 'allow', 'coalesce', 10, 0, 1, :t, :t)"
                    ),
                    {"id": job_id, "name": f"job {job_id}", "t": now},
                )
                await conn.execute(
                    text(
                        "INSERT INTO runs (id, job_id, owner_id, scheduled_for, attempt, "
                        '"trigger", status, run_after, cancel_requested, queued_at, log_lines, '
                        "log_bytes, log_truncated) VALUES (:id, :job, 1, :t, 1, 'manual', "
                        "'succeeded', :t, 0, :t, 1, 2, 0)"
                    ),
                    {"id": job_id * 10, "job": job_id, "t": now},
                )
                await conn.execute(
                    text(
                        "INSERT INTO run_logs (run_id, seq, ts, stream, text) "
                        "VALUES (:run, 1, :t, 'stdout', 'hi')"
                    ),
                    {"run": job_id * 10, "t": now},
                )
        await upgrade(database)
        assert await current_revision(database) == head_revision()

        async with database.engine.connect() as conn:
            counts = {
                table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar()
                for table in ("users", "jobs", "runs", "run_logs")
            }
            assert counts == {"users": 1, "jobs": 3, "runs": 3, "run_logs": 3}
            runs = (await conn.execute(select(Run.id, Run.job_id).order_by(Run.id))).all()
            assert [tuple(r) for r in runs] == [(10, 1), (20, 2), (30, 3)]
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA foreign_key_check"))).all() == []
        # Foreign keys still cascade, and the newest id is not handed out again.
        async with database.engine.begin() as conn:
            await conn.execute(text("DELETE FROM jobs WHERE id = 3"))
            assert (await conn.execute(text("SELECT count(*) FROM runs"))).scalar() == 2
            await conn.execute(
                text(
                    "INSERT INTO jobs (owner_id, name, description, type, spec, schedule_kind, "
                    "cron, timezone, max_attempts, retry_initial_delay, retry_max_delay, "
                    "retry_multiplier, timeout_seconds, concurrency, misfire, misfire_limit, "
                    "paused, version, created_at, updated_at) VALUES (1, 'new', '', 'http', "
                    "'{}', 'cron', '0 0 1 1 *', 'UTC', 1, 1, 1, 2, 30, 'allow', 'coalesce', "
                    "10, 0, 1, :t, :t)"
                ),
                {"t": now},
            )
            new_id = (await conn.execute(text("SELECT max(id) FROM jobs"))).scalar()
        assert new_id == 4
    finally:
        await database.dispose()
    with sqlite3.connect(path) as raw:
        for table in ("users", "jobs", "runs", "api_tokens", "audit_log", "events"):
            [sql] = raw.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
            assert "AUTOINCREMENT" in sql, table
