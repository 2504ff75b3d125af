"""Cost at a small and a large size: the alternating timing loop and its table rows.

Shared by the job tick (`bench/tick.py`) and the monitor check (`bench/monitors.py`): both
time a busy step (the due work) and an idle step (nothing due) on two databases that differ
only in how many rows are registered, and judge the large size against the small one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from app.db.engine import Database
from bench import report
from bench.fixtures import BASE_TIME

# One step of a repetition: (size, database, the repetition's minute) → None.
Step = Callable[[int, Database, datetime], Awaitable[None]]
TARGET = 1.2  # the large size may cost at most this times the small one
WARMUP = 2  # the first repetitions warm caches and connections and are not kept


async def busy_and_idle_times(
    dbs: dict[int, Database], reps: int, busy: Step, idle: Step, prepare: Step | None = None
) -> dict[int, tuple[list[float], list[float]]]:
    """Busy and idle times per size; the sizes alternate, so drift hits both.

    Repetition `rep` runs at `BASE_TIME + rep minutes`; `prepare` (untimed) runs before
    the busy step, the idle step right after it.
    """
    times: dict[int, tuple[list[float], list[float]]] = {size: ([], []) for size in dbs}
    for rep in range(reps + WARMUP):
        minute = BASE_TIME + timedelta(minutes=rep)
        for size, db in dbs.items():
            if prepare is not None:
                await prepare(size, db, minute)
            started = time.perf_counter()
            await busy(size, db, minute)
            elapsed = time.perf_counter() - started
            started = time.perf_counter()
            await idle(size, db, minute)
            idle_elapsed = time.perf_counter() - started
            if rep >= WARMUP:
                times[size][0].append(elapsed)
                times[size][1].append(idle_elapsed)
    return times


def header(unit: str, small: int, large: int) -> list[str]:
    return [
        "engine",
        "what",
        f"{small:,} {unit}",
        f"{large:,} {unit}",
        "ratio (medians)",
        "ratio (fastest)",
        "target",
    ]


def rows(
    engine: str,
    small: tuple[Sequence[float], Sequence[float]],
    large: tuple[Sequence[float], Sequence[float]],
    busy_label: str,
    idle_label: str,
) -> list[list[str]]:
    """The busy and the idle row for the (busy, idle) times at each size: median / fastest,
    the ratios, and the busy figure's verdict on the fastest against TARGET."""
    return [
        [
            engine,
            label,
            f"{report.ms(report.median(few))} / {report.ms(min(few))}",
            f"{report.ms(report.median(many))} / {report.ms(min(many))}",
            report.ratio(report.median(many), report.median(few)),
            report.ratio(min(many), min(few)),
            report.verdict(min(many) / min(few) <= TARGET) if judged else "–",
        ]
        for label, few, many, judged in (
            (busy_label, small[0], large[0], True),
            (idle_label, small[1], large[1], False),
        )
    ]
