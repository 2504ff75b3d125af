"""How dts writes an instant for people and clients: ISO 8601, in UTC, with a `Z`.

One formatter for every interface, so the same moment reads the same over REST and
GraphQL (`2026-01-05T12:00:00Z`, `…T12:00:00.250000Z` when it has a fraction).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(value: datetime) -> str:
    """`value` as ISO 8601 in UTC with `Z`. A naive value is taken to be UTC already (as
    the database hands back UTC), never the machine's local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
