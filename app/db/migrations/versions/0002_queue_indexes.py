"""partial indexes for the claim and the lease scan; NOTIFY on schedule changes

The claim (`status = 'queued' AND run_after <= now ORDER BY run_after`) and the recovery
scan (`status = 'running' AND lease_expires_at < now`) used indexes over every run ever
recorded, led by `status`; finished runs, nearly all of the table, were dead weight in
them and made the claim's plan depend on the history's size. Partial indexes hold only the
queued (resp. running) runs, so both stay as cheap as the queue is short.

Workers' schedulers sleep until the next job is due; a job created or resumed meanwhile,
due sooner, was noticed only at the next poll (up to DTS_POLL_INTERVAL late). A
statement-level trigger on jobs (`dts_jobs`) wakes them, as `dts_runs` wakes claimers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = "status = 'queued'"
RUNNING = "status = 'running'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION dts_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_notify('dts_jobs', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF next_run_at, paused ON jobs "
            "FOR EACH STATEMENT EXECUTE FUNCTION dts_notify_jobs()"
        )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_claim")
        batch_op.drop_index("ix_runs_lease")
        batch_op.create_index(
            "ix_runs_queued",
            ["run_after", "id"],
            unique=False,
            postgresql_where=sa.text(QUEUED),
            sqlite_where=sa.text(QUEUED),
        )
        batch_op.create_index(
            "ix_runs_running",
            ["lease_expires_at"],
            unique=False,
            postgresql_where=sa.text(RUNNING),
            sqlite_where=sa.text(RUNNING),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS jobs_notify ON jobs")
        op.execute("DROP FUNCTION IF EXISTS dts_notify_jobs()")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_running")
        batch_op.drop_index("ix_runs_queued")
        batch_op.create_index("ix_runs_lease", ["status", "lease_expires_at"], unique=False)
        batch_op.create_index("ix_runs_claim", ["status", "run_after"], unique=False)
