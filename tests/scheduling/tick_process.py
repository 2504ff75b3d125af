"""Run scheduler ticks from a separate OS process (for the multi-process exactly-once test)."""

from __future__ import annotations

import asyncio
import json
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


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
