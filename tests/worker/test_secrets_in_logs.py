"""What a worker records of a job whose target echoes its secret headers: no secret, of
any length, and no part of one cut by the body-log or summary cap (issue 12, item 7)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.job_spec import MASK
from tests.factories import add_user, http_job, services
from tests.worker.conftest import job_runs, run_log, running_worker, wait_for
from worker.executors.base import OUTPUT_SUMMARY_CHARS

SECRET = "sup3r-secret-value"


def parts_of(secret: str, size: int = 5) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


async def test_recorded_logs_and_outputs_hold_no_secret_nor_part_of_one(
    db, worker_settings, target
) -> None:
    owner = await add_user(db, "ada@example.com")
    jobs, runs = services(db, worker_settings, lambda: datetime.now(UTC))
    secret_header = [{"name": "X-Sig", "value": SECRET, "secret": True}]
    cases = {
        # the 4 KiB body-log cap falls inside the echoed secret
        "body-cap": (target.url("/padded-echo?pad=4090"), secret_header),
        # the output summary's cap falls inside it
        "summary-cap": (target.url(f"/padded-echo?pad={OUTPUT_SUMMARY_CHARS - 8}"), secret_header),
        # short secrets, echoed back in JSON
        "short": (
            target.url("/echo"),
            [
                {"name": "X-Sig", "value": "abc", "secret": True},
                {"name": "Authorization", "value": "Bearer xyz12"},
            ],
        ),
    }
    created = {
        name: await jobs.create_job(
            owner,
            http_job(
                name=name, cron="0 0 1 1 *", http={"method": "GET", "url": url, "headers": headers}
            ),
        )
        for name, (url, headers) in cases.items()
    }

    async def all_done():
        found = {name: await job_runs(db, job.id) for name, job in created.items()}
        if all(r and r[0].status == "succeeded" for r in found.values()):
            return {name: r[0] for name, r in found.items()}
        return None

    async with running_worker(worker_settings):
        for job in created.values():
            await runs.trigger_job(owner, job.id)
        done = await wait_for(all_done, timeout=20)

    for name in ("body-cap", "summary-cap"):
        run = done[name]
        recorded = "\n".join(await run_log(db, run.id)) + "\n" + (run.output or "")
        for part in parts_of(SECRET):
            assert part not in recorded, (name, part)
    assert MASK in (done["summary-cap"].output or "")

    short = done["short"]
    recorded = "\n".join(await run_log(db, short.id)) + "\n" + (short.output or "")
    assert '"abc"' not in recorded and "xyz12" not in recorded
    assert f'"x-sig": "{MASK}"' in recorded
