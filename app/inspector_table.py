"""The inspector's answer as a plain-text table for a terminal (`dts preview`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def _wall(utc_iso: str, zone: str, seconds: bool) -> str:
    """'2026-03-29 03:00 CEST': the instant on the wall clock of `zone`."""
    moment = datetime.fromisoformat(utc_iso.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {moment.tzname()}"


def _rows_to_text(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def preview_table(result: dict[str, Any]) -> str:
    """Header lines, then one row per occurrence: local time with offset, UTC, extra zones, note."""
    occurrences = result["occurrences"]
    zone = result["timezone"]
    head = [
        f"{result['cron']} in {zone}: {result['description']}",
        f"next {len(occurrences)} after {result['from']}",
    ]
    if not occurrences:
        return "\n".join([*head, "no occurrences within the next 50 years"])
    seconds = any(datetime.fromisoformat(o["local"]).second for o in occurrences)
    extra = list(occurrences[0]["zones"])
    rows = [["#", f"local ({zone})", "UTC", *extra, "note"]]
    for index, occ in enumerate(occurrences, start=1):
        rows.append(
            [
                str(index),
                f"{_wall(occ['utc'], zone, seconds)} ({occ['offset']})",
                _wall(occ["utc"], "UTC", seconds),
                *(_wall(occ["utc"], name, seconds) for name in extra),
                ("DST: " + occ["note"]) if occ["note"] else "",
            ]
        )
    return "\n".join([*head, "", *_rows_to_text(rows)])
