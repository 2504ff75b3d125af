"""A manual trigger answers with the run exactly as stored, from the INSERT's RETURNING:
no second read, whatever the concurrency policy decided."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from app.context import Services
from app.db.models import AuditEntry, Event, Run
from app.graphql.context import Context
from app.graphql.schema import schema
from app.services.auth import AuthService
from app.services.tokens import encode_access_token
from tests.factories import add_user, http_job, services
from tests.graphql.test_loaders import request_with


def columns(run: Run) -> dict[str, Any]:
    return {column.key: getattr(run, column.key) for column in Run.__table__.columns}


async def stored(db, run_id: int) -> Run:
    async with db.session() as session:
        found = await session.get(Run, run_id)
    assert found is not None
    return found


@pytest.mark.parametrize("policy", ["allow", "forbid", "replace"])
async def test_the_returned_run_is_the_stored_row(db, settings, clock, policy: str) -> None:
    clock.set(datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC))
    jobs, runs = services(db, settings, clock.now)
    owner = await add_user(db, "ada@example.com")
    job = await jobs.create_job(
        owner, http_job(concurrency=policy, startingDeadlineSeconds=30), ip="10.0.0.1"
    )
    first = await runs.trigger_job(owner, job.id, ip="10.0.0.1")
    assert columns(first) == columns(await stored(db, first.id))
    clock.advance(1)
    second = await runs.trigger_job(owner, job.id, ip="10.0.0.1")
    assert columns(second) == columns(await stored(db, second.id))
    assert second.status == ("skipped" if policy == "forbid" else "queued")
    assert second.finished_at == (clock.now() if policy == "forbid" else None)
    async with db.session() as session:
        kinds = list(await session.scalars(select(Event.kind).order_by(Event.id)))
        audit = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    expected = {
        "allow": ["run.queued", "run.queued"],
        "forbid": ["run.queued", "run.skipped"],
        "replace": ["run.queued", "run.cancelled", "run.queued"],
    }[policy]
    assert [k for k in kinds if k.startswith("run.")] == expected
    triggers = [entry for entry in audit if entry.action == "job.trigger"]
    assert [entry.detail for entry in triggers] == [{"runId": first.id}, {"runId": second.id}]


async def test_trigger_job_mutation_statements(db, settings, clock) -> None:
    """Authentication reads one row; the trigger locks the job, reads its active runs,
    inserts the run (RETURNING it), its event and the audit entry. Nothing reads it back."""
    services_ = Services.build(settings, db, clock=clock.now)
    owner = await add_user(db, "ada@example.com")
    job = await services_.jobs.create_job(owner, http_job())
    token = encode_access_token(
        settings.jwt_secret,
        user_id=owner.user_id,
        role=owner.role,
        now=clock.now(),
        lifetime=AuthService(db, settings).access_lifetime,
    )
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        found = re.match(
            r"\s*(SELECT\b.*?\sFROM|INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", statement, re.S
        )
        if found:
            statements.append(f"{found[1].split()[0]} {found[2]}")

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        result = await schema.execute(
            "mutation($id: ID!) { triggerJob(id: $id) { id status job { id } } }",
            variable_values={"id": str(job.id)},
            context_value=Context(services=services_, request=request_with(token)),
        )
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert result.errors is None, result.errors
    assert result.data["triggerJob"]["status"] == "QUEUED"
    assert statements == [
        "SELECT users",  # authenticate
        "SELECT jobs",  # lock the job
        "SELECT runs",  # its active runs
        "INSERT runs",  # the run, RETURNING it
        "INSERT events",
        "INSERT audit_log",
        "SELECT jobs",  # `job { id }`: the DataLoader, only because the query asks for it
    ]
