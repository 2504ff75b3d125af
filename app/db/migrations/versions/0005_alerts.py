"""alerting: channels, rules, failure streaks, incidents and the notification outbox

Follows the monitors migration (0004).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations
from sqlalchemy.dialects import postgresql

import app.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The same column and index kinds recur in every table below; these build them the way
# Alembic's autogenerate wrote them (checked: the schema is unchanged on both engines).


def _id_type() -> sa.types.TypeEngine[int]:
    """BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json_type() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _id() -> sa.Column[int]:
    return sa.Column("id", _id_type(), autoincrement=True, nullable=False)


def _ref(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, _id_type(), nullable=nullable)


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, app.db.types.UTCDateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _int(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _owner_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["owner_id"], ["users.id"], name=op.f(f"fk_{table}_owner_id_users"), ondelete="CASCADE"
    )


# Partial indexes: (table, index, column, the rows it covers), dropped in reverse order.
PARTIAL_INDEXES = [
    ("incidents", "ix_incidents_remind", "remind_at", "status = 'open' AND remind_at IS NOT NULL"),
    ("notifications", "ix_notifications_due", "next_attempt_at", "status = 'pending'"),
    ("notifications", "ix_notifications_sending", "lease_expires_at", "status = 'sending'"),
]


def _create_partial_indexes(batch_op: BatchOperations, table: str) -> None:
    for on, name, column, where in PARTIAL_INDEXES:
        if on == table:
            batch_op.create_index(
                name,
                [column],
                unique=False,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )


def _drop_partial_indexes(batch_op: BatchOperations, table: str) -> None:
    for on, name, _column, where in reversed(PARTIAL_INDEXES):
        if on == table:
            batch_op.drop_index(name, postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade() -> None:
    op.create_table(
        "alert_streaks",
        _text("subject", 16),
        _ref("subject_id"),
        _int("failures"),
        _ref("open_incident_id", nullable=True),
        _text("last_occurrence", 200, nullable=True),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("subject", "subject_id", name=op.f("pk_alert_streaks")),
    )
    op.create_table(
        "incidents",
        _id(),
        _ref("owner_id"),
        _text("subject", 16),
        _ref("subject_id"),
        _text("kind", 16),
        _text("status", 16),
        sa.Column("summary", sa.Text(), nullable=False),
        _int("failures"),
        _time("opened_at"),
        _time("last_failure_at"),
        _time("last_notified_at", nullable=True),
        _int("reminders"),
        _time("remind_at", nullable=True),
        _text("name", 200),
        _time("resolved_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        _create_partial_indexes(batch_op, "incidents")
        batch_op.create_index("ix_incidents_subject", ["subject", "subject_id", "id"], unique=False)

    op.create_table(
        "alert_channels",
        _id(),
        _ref("owner_id"),
        _flag("shared"),
        _text("name", 100),
        _text("kind", 16),
        sa.Column("config", _json_type(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _owner_fk("alert_channels"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_channels")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("alert_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_channels_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "alert_rules",
        _id(),
        _ref("owner_id"),
        _text("subject", 16),
        _ref("subject_id"),
        sa.Column("channel_ids", _json_type(), nullable=False),
        _flag("on_failure"),
        _int("failure_threshold"),
        _flag("on_timed_out"),
        _flag("on_lost"),
        _flag("on_missed"),
        _flag("on_skipped"),
        _flag("on_recovery"),
        sa.Column("remind_every_hours", sa.Float(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        _owner_fk("alert_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("owner_id", "subject", "subject_id", name="uq_alert_rules_subject"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "notifications",
        _id(),
        _ref("channel_id"),
        _ref("incident_id", nullable=True),
        _ref("owner_id"),
        _text("kind", 16),
        _text("idempotency_key", 200),
        sa.Column("payload", _json_type(), nullable=False),
        _text("status", 16),
        _int("attempts"),
        _time("next_attempt_at"),
        _text("worker_id", 128, nullable=True),
        _time("lease_expires_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("created_at"),
        _time("delivered_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["alert_channels.id"],
            name=op.f("fk_notifications_channel_id_alert_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notifications_idempotency_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_channel_id"), ["channel_id"], unique=False
        )
        _create_partial_indexes(batch_op, "notifications")


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        _drop_partial_indexes(batch_op, "notifications")
        batch_op.drop_index(batch_op.f("ix_notifications_channel_id"))

    op.drop_table("notifications")
    op.drop_table("alert_rules")
    with op.batch_alter_table("alert_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_channels_owner_id"))

    op.drop_table("alert_channels")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_subject")
        _drop_partial_indexes(batch_op, "incidents")

    op.drop_table("incidents")
    op.drop_table("alert_streaks")
