"""The inspector: one function (`app/services/inspector.py`) behind REST, GraphQL and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.errors import ValidationError
from app.services.inspector import preview
from tests.factories import http_job
from tests.rest.conftest import Client

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


def test_preview_marks_the_spring_forward_in_berlin() -> None:
    result = preview("30 2 * * *", "Europe/Berlin", 3, now=NOW, zones=["Asia/Tokyo"])
    assert result["cron"] == "30 2 * * *" and result["description"] == "At 02:30 every day"
    assert result["from"] == "2026-03-28T12:00:00Z"
    first, second, third = result["occurrences"]
    assert first["local"] == "2026-03-29T03:00:00+02:00"
    assert first["utc"] == "2026-03-29T01:00:00Z"
    assert first["offset"] == "+02:00" and first["abbreviation"] == "CEST"
    assert first["dstShifted"] is True
    assert (
        first["note"] == "02:30 does not exist on 2026-03-29 in Europe/Berlin; runs at 03:00 CEST"
    )
    assert first["zones"] == {"Asia/Tokyo": "2026-03-29T10:00:00+09:00"}
    assert second["local"] == "2026-03-30T02:30:00+02:00" and second["note"] is None
    assert third["dstShifted"] is False


def test_preview_is_strictly_after_from() -> None:
    result = preview("0 * * * *", "UTC", 2, "2026-01-01T00:00:00+00:00")
    assert [o["utc"] for o in result["occurrences"]] == [
        "2026-01-01T01:00:00Z",
        "2026-01-01T02:00:00Z",
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cron": "* * *"}, "cron"),
        ({"cron": None}, "cron"),
        ({"cron": "@daily", "timezone": "Nowhere"}, "timezone"),
        ({"cron": "@daily", "count": 0}, "count"),
        ({"cron": "@daily", "count": 1001}, "count"),
        ({"cron": "@daily", "count": "5"}, "count"),
        ({"cron": "@daily", "start": "2026-01-01"}, "from"),
        ({"cron": "@daily", "zones": "UTC"}, "zones"),
        ({"cron": "@daily", "zones": ["UTC"] * 11}, "zones"),
        ({"cron": "@daily", "zones": [None]}, "zones[0]"),
    ],
)
def test_preview_errors_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        preview(**kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


async def test_preview_of_a_stored_interval_job(users: dict[str, Client]) -> None:
    a = users["a"]
    job = http_job(cron=None) | {
        "schedule": {"everySeconds": 90, "anchor": "2026-01-01T00:00:00Z"},
        "timezone": "Europe/Paris",
    }
    created = await a.post("/api/jobs", json=job)
    assert created.status_code == 201, created.text
    assert created.json()["schedule"] == {"everySeconds": 90.0, "anchor": "2026-01-01T00:00:00Z"}
    answer = await a.get(
        f"/api/inspector/job/{created.json()['id']}",
        params={"count": 2, "from": "2026-01-01T00:00:00Z"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["cron"] is None and body["timezone"] == "Europe/Paris"
    assert body["description"].startswith("Every 90 seconds")
    assert [o["local"] for o in body["occurrences"]] == [
        "2026-01-01T01:01:30+01:00",
        "2026-01-01T01:03:00+01:00",
    ]
