"""Run scheduler ticks from a separate OS process (for the multi-process exactly-once test)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime

from app.db.engine import Database
from worker.tick import tick


async def main(url: str, due: str, start_at: float, batch: int) -> None:
    db = Database(url)
    await asyncio.sleep(max(0.0, start_at - time.time()))  # start together
    stats = await tick(db, datetime.fromisoformat(due), batch=batch)
    await db.dispose()
    print(json.dumps({"queued": stats.queued, "jobs": stats.jobs, "monitors": stats.monitors}))


def race(database_url: str, due: datetime, count: int, lead_seconds: float) -> list[dict[str, int]]:
    """Tick at `due` from `count` processes that start together `lead_seconds` from now
    (time to import and connect); each process's stats."""
    start_at = str(time.time() + lead_seconds)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.scheduling.tick_process",
                database_url,
                due.isoformat(),
                start_at,
                "50",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    return [json.loads(out) for out, _ in outputs]


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
