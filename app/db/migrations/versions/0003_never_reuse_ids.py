"""never reuse ids on SQLite: AUTOINCREMENT for every table whose ids are shown

SQLite hands out max(rowid) + 1: after the newest job (or run, user, token…) was
deleted, the next one got its id, so the change feed's history, audit entries and
clients holding that id saw two different things under one id. AUTOINCREMENT keeps the
highest id ever used (sqlite_sequence). SQLite cannot change that in place: each table is
rebuilt (batch mode, "recreate"), data, indexes and constraints kept. `app.db.migrate`
runs SQLite migrations with foreign keys off, as a rebuild requires (dropping the old
`jobs` would otherwise cascade to its runs), and checks them before committing.

PostgreSQL's identity sequences never reuse a value: nothing to do there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# run_logs is left out: its ids are never shown, and it takes the most inserts.
TABLES = ("users", "refresh_tokens", "reset_tokens", "api_tokens", "jobs", "runs", "audit_log")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
