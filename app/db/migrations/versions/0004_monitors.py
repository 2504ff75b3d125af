"""heartbeat monitors and their pings (issue 13)

`ix_monitors_due` serves the scheduler tick's query (monitors past their deadline); it is
partial on PostgreSQL so monitors with nothing to wait for (new, down, paused) are not in
it. Both tables never reuse ids on SQLite (AUTOINCREMENT), as migration 0003 did for the
others.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.types import BigId, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "owner_id",
            BigId,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_monitors_owner_id_users"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ping_key", sa.String(36), nullable=False),
        sa.Column("schedule_kind", sa.String(16), nullable=False),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("period_seconds", sa.Float(), nullable=True),
        sa.Column("grace_seconds", sa.Float(), nullable=False),
        sa.Column("max_duration_seconds", sa.Float(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("ran_too_long", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("last_ping_at", UTCDateTime(), nullable=True),
        sa.Column("last_start_at", UTCDateTime(), nullable=True),
        sa.Column("next_expected_at", UTCDateTime(), nullable=True),
        sa.Column("deadline_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitors"),
        sa.UniqueConstraint("ping_key", name="uq_monitors_ping_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_monitors_owner_id", "monitors", ["owner_id"])
    op.create_index("ix_monitors_owner_name", "monitors", ["owner_id", "name"])
    op.create_index(
        "ix_monitors_due",
        "monitors",
        ["deadline_at", "state"],
        postgresql_where=sa.text("deadline_at IS NOT NULL"),
    )
    op.create_table(
        "monitor_pings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "monitor_id",
            BigId,
            sa.ForeignKey(
                "monitors.id", ondelete="CASCADE", name="fk_monitor_pings_monitor_id_monitors"
            ),
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("exit_status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_pings"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_monitor_pings_history", "monitor_pings", ["monitor_id", "id"])


def downgrade() -> None:
    op.drop_table("monitor_pings")
    op.drop_table("monitors")
