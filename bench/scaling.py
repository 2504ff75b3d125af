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
    engine: str, figures: Sequence[tuple[str, Sequence[float], Sequence[float], bool]]
) -> list[list[str]]:
    """A row per (label, small times, large times, judged): median / fastest at each size,
    the ratios, and the verdict on the fastest against TARGET where judged."""
    return [
        [
            engine,
            label,
            f"{report.ms(report.median(small))} / {report.ms(min(small))}",
            f"{report.ms(report.median(big))} / {report.ms(min(big))}",
            report.ratio(report.median(big), report.median(small)),
            report.ratio(min(big), min(small)),
            report.verdict(min(big) / min(small) <= TARGET) if judged else "–",
        ]
        for label, small, big, judged in figures
    ]
