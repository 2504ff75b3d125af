"""Small builders for tests: users as principals, services wired to a test clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.config import Settings
from app.db.engine import Database
from app.services.access import Principal
from app.services.jobs import JobService
from app.services.runs import RunService
from app.services.secrets import SecretBox
from app.services.users import create_user

PASSWORD = "correct-horse-battery"


async def add_user(db: Database, email: str, role: str | None = None) -> Principal:
    user = await create_user(db, email, PASSWORD, role=role)
    return Principal(user_id=user.id, email=user.email, role=user.role)


def services(
    db: Database, settings: Settings, clock: Callable[[], datetime]
) -> tuple[JobService, RunService]:
    jobs = JobService(
        db,
        SecretBox(settings),
        script_root=settings.script_root,
        allow_private=settings.http_allow_private,
        clock=clock,
    )
    return jobs, RunService(db, clock=clock)


def http_job(name: str = "ping", cron: str = "*/5 * * * *", **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "name": name,
        "schedule": cron,
        "timezone": extra.pop("timezone", "UTC"),
        "http": extra.pop("http", {"method": "GET", "url": "https://example.com/hook"}),
        **extra,
    }


def script_job(
    name: str = "hello-script", cron: str = "*/2 * * * *", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "script",
        "name": name,
        "schedule": cron,
        "timezone": "UTC",
        "script": extra.pop(
            "script", {"command": "node", "args": ["scripts/hello.js"], "cwd": "./"}
        ),
        **extra,
    }
