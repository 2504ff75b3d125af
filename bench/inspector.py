"""The inspector: 1,000 occurrences of DST-crossing expressions, time per call.

A call is what the preview API does: `occurrences(schedule, after, 1000)` (Debian-cron DST
rules, notes) and `occurrence_to_dict` for each (the JSON payload, with one extra viewer
zone). Reference: cronsim alone iterating the same 1,000 times in the same zone (its
aware-datetime mode: no DST rules of ours, no notes, no payload), in the same run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from zoneinfo import ZoneInfo

from cronsim import CronSim

from app.domain.schedule import CronSchedule, occurrence_to_dict, occurrences
from bench import report

COUNT = 1000
CASES = [
    ("*/15 * * * *", "Europe/Berlin", datetime(2026, 3, 25, tzinfo=UTC), "across 2026-03-29"),
    ("*/15 * * * *", "America/New_York", datetime(2026, 10, 28, tzinfo=UTC), "across 2026-11-01"),
    ("30 2 * * *", "Europe/Berlin", datetime(2026, 1, 1, tzinfo=UTC), "1,000 days"),
    ("15 2 * * *", "Australia/Lord_Howe", datetime(2026, 1, 1, tzinfo=UTC), "1,000 days"),
    ("30 0 * * *", "America/Santiago", datetime(2026, 1, 1, tzinfo=UTC), "1,000 days"),
]


def _timed(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(first call, fastest of the next `calls`) in seconds of CPU: the work is pure
    computation, and CPU time is what other load on the machine disturbs least."""
    started = time.process_time()
    fn()
    first = time.process_time() - started
    samples = []
    for _ in range(calls):
        started = time.process_time()
        fn()
        samples.append(time.process_time() - started)
    return first, min(samples)


async def main(args: argparse.Namespace) -> None:
    calls = args.inspector_calls
    report.note(
        f"\n## inspector — {COUNT:,} occurrences per call, CPU time, fastest of {calls} calls"
    )
    rows = []
    for expr, zone, after, span in CASES:
        schedule = CronSchedule(expr, zone)
        found = occurrences(schedule, after, COUNT)
        notes = sum(1 for o in found if o.note)

        def dts_call(schedule: CronSchedule = schedule, after: datetime = after) -> object:
            return [occurrence_to_dict(o, ("UTC",)) for o in occurrences(schedule, after, COUNT)]

        def dts_bare(schedule: CronSchedule = schedule, after: datetime = after) -> object:
            return occurrences(schedule, after, COUNT)

        def cronsim_call(expr: str = expr, zone: str = zone, after: datetime = after) -> object:
            return list(islice(CronSim(expr, after.astimezone(ZoneInfo(zone))), COUNT))

        first, call = _timed(dts_call, calls)
        _, bare = _timed(dts_bare, calls)
        _, ref = _timed(cronsim_call, calls)
        rows.append(
            [
                f"`{expr}` {zone}, {span}",
                notes,
                report.ms(first),
                report.ms(call),
                report.ms(bare),
                report.ms(ref),
                report.ratio(bare, ref),
            ]
        )
    report.show(
        "Inspector (reference: cronsim alone, same expression and zone)",
        [
            "expression",
            "DST notes",
            "first call",
            "call (with JSON)",
            "occurrences only",
            "cronsim alone",
            "ours / cronsim",
        ],
        rows,
    )
