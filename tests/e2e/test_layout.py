"""Layout in Chromium at 1280, 1920 and 390 px: nothing is clipped, nothing overlaps.

Each page is measured in the browser: the document must not scroll sideways, no box may
scroll or clip its content sideways (a table wider than its card, an inspector column cut
off), and no two pieces of text may overlap (next-run text running under the last-run
badge on a phone). The seeded jobs are chosen to be awkward: a long unbroken name, zones
far from the viewer's, failures, a script with a log, DST notes in the inspector.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, Target, graphql, sign_in
from tests.e2e.test_dashboard import next_spring_forward
from tests.live import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

WIDTHS = [1280, 1920, 390]

# Runs in the page; returns one line per problem found.
MEASURE = (Path(__file__).parent / "measure_layout.js").read_text()

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken } }"""
CREATE_JOB = "mutation($input: JobInput!) { createJob(input: $input) { id } }"
TRIGGER = "mutation($id: ID!) { triggerJob(id: $id) { id } }"
RUN_STATUS = "query($id: ID!) { run(id: $id) { status } }"
PAUSE = "mutation($id: ID!) { pauseJob(id: $id) { id } }"
CREATE_TOKEN = "mutation($name: String!) { createApiToken(name: $name, scope: READ) { token } }"
LONG_NAME = "quarterly-compliance-report-export-to-the-archive-bucket-in-eu-west"
CREATE_MONITOR = "mutation($input: MonitorInput!) { createMonitor(input: $input) { id pingUrl } }"


@pytest.fixture(scope="module")
def seeded(server: LiveServer, target: Target) -> dict[str, str]:
    """Awkward jobs with history; the ids of the pages to measure."""
    token = graphql(server.url, LOGIN, {"email": ADMIN_EMAIL, "password": PASSWORD})["login"][
        "accessToken"
    ]
    graphql(server.url, CREATE_TOKEN, {"name": "grafana-dashboards-read-only"}, token)

    def job(name: str, cron: str, zone: str, runs: int, **spec: Any) -> tuple[str, str | None]:
        kind = "SCRIPT" if "script" in spec else "HTTP"
        if kind == "HTTP":
            spec.setdefault("http", {"method": "POST", "url": target.url})
        created = graphql(
            server.url,
            CREATE_JOB,
            {
                "input": {
                    "type": kind,
                    "name": name,
                    "schedule": {"cron": cron, "timezone": zone},
                    "retry": {"maxAttempts": 1},
                    **spec,
                }
            },
            token,
        )["createJob"]
        run_id = None
        for _ in range(runs):
            run_id = graphql(server.url, TRIGGER, {"id": created["id"]}, token)["triggerJob"]["id"]
            wait_until_finished(server, run_id, token)
        return created["id"], run_id

    history, _ = job("billing-sync", "*/15 * * * *", "UTC", 6, http={"url": target.url + "?flaky"})
    job("partner-feed", "0 */2 * * *", "Asia/Kolkata", 1, http={"url": target.url + "?fail"})
    job(LONG_NAME, "0 6 1 1,4,7,10 *", "America/Los_Angeles", 1)
    hello = {"command": "python3", "args": ["scripts/hello.py"]}
    dst, run = job("nightly-backup", "30 2 * * *", "Europe/Berlin", 1, script=hello)
    paused, _ = job("cache-warmup", "*/5 9-17 * * 1-5", "Australia/Lord_Howe", 0)
    graphql(server.url, PAUSE, {"id": paused}, token)
    assert run is not None
    monitor, short = monitors(server, token)
    return {"history": history, "dst": dst, "run": run, "monitor": monitor, "short": short}


def monitors(server: LiveServer, token: str) -> tuple[str, str]:
    """Monitors in several states; the ids of one with a long name and pings with logs,
    and of one with a short name (an input scrolls a long name inside itself)."""

    def create(**spec: Any) -> dict[str, str]:
        made = graphql(server.url, CREATE_MONITOR, {"input": spec}, token)["createMonitor"]
        return {"id": made["id"], "path": "/ping/" + made["pingUrl"].rsplit("/ping/", 1)[1]}

    create(name="queue-drain", periodSeconds=3600, graceSeconds=600)
    long = create(
        name=LONG_NAME + "-heartbeat",
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        graceSeconds=900,
        maxDurationSeconds=3600,
    )
    failing = create(name="certbot-renew", cron="0 */12 * * *", timezone="Asia/Kolkata")
    httpx.post(server.url + long["path"] + "/start")
    httpx.post(server.url + long["path"], content=b"backup: 12 GB\n" * 40)
    httpx.post(server.url + failing["path"] + "/2", content=b"renewal failed: " + b"x" * 300)
    return long["id"], failing["id"]


def wait_until_finished(server: LiveServer, run_id: str, token: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = graphql(server.url, RUN_STATUS, {"id": run_id}, token)["run"]["status"]
        if status not in ("QUEUED", "RUNNING"):
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def measure(page: Any, where: str, *, blur: bool = True) -> list[str]:
    if blur:
        page.evaluate("document.activeElement && document.activeElement.blur()")
    return [f"{where}: {problem}" for problem in page.evaluate(MEASURE)]


@pytest.mark.parametrize("width", WIDTHS)
def test_signed_in_pages_fit_without_clipping_or_overlap(
    new_page: Any, seeded: dict[str, str], width: int
) -> None:
    page = new_page(width=width, height=900)
    sign_in(page, ADMIN_EMAIL)
    problems: list[str] = []

    expect(page.locator("tr[data-job-id]", has_text=LONG_NAME)).to_be_visible()
    problems += measure(page, "jobs")

    page.goto(f"/jobs/{seeded['history']}")
    expect(page.locator("tr[data-run-id]")).to_have_count(6)
    problems += measure(page, "job detail")

    page.goto(f"/jobs/{seeded['dst']}/edit")
    expect(page.get_by_test_id("schedule-description")).to_have_text("At 02:30 every day")
    before = next_spring_forward(date.today() + timedelta(days=1)) - timedelta(days=3)
    page.get_by_label("Preview from date").fill(before.isoformat())
    expect(page.get_by_test_id("dst-note").first).to_be_visible()
    problems += measure(page, "job form with DST notes")

    # The timezone picker, open on a match found by an old name (the longest option text).
    picker = page.get_by_role("combobox", name="Timezone")
    picker.fill("America/Buenos")
    expect(page.get_by_role("option").first).to_contain_text("Buenos_Aires")
    problems += measure(page, "timezone picker, open", blur=False)
    picker.press("Escape")

    page.goto(f"/runs/{seeded['run']}")
    expect(page.get_by_test_id("run-log")).to_contain_text("Hello from DTS")
    problems += measure(page, "run detail")

    for path, ready in [
        ("/workers", page.get_by_test_id("workers-alive")),
        ("/tokens", page.get_by_role("table").first),
        ("/account", page.get_by_role("heading", name="Change password")),
        ("/runs?status=all", page.locator("tr[data-run-id]").first),
        (
            "/inspector?cron=30+2+*+*+*&tz=Europe/Berlin&zones=Asia/Tokyo,America/Los_Angeles",
            page.get_by_role("table", name="Upcoming runs"),
        ),
        ("/admin", page.get_by_role("table", name="Users")),
        ("/admin/tokens", page.get_by_role("table").first),
        ("/admin/audit", page.get_by_role("table", name="Audit log")),
        ("/monitors", page.locator("tr[data-monitor-id] [data-state=DOWN]")),
        (f"/monitors/{seeded['monitor']}", page.get_by_role("table", name="Pings")),
        ("/monitors/new", page.get_by_role("table", name="Upcoming runs")),
        (f"/monitors/{seeded['short']}/edit", page.get_by_role("table", name="Upcoming runs")),
    ]:
        page.goto(path)
        expect(ready).to_be_visible()
        problems += measure(page, path)

    # Pages another change adds (the global runs list, the inspector, the tokens page):
    # measured once they exist.
    for path in ["/runs", "/inspector", "/tokens", "/incidents", "/notifications"]:
        page.goto(path)
        expect(page.locator("main h1, main h2").first).to_be_visible()
        if page.get_by_role("heading", name="Page not found").count():
            continue
        page.wait_for_load_state("networkidle")
        problems += measure(page, path)

    assert not problems, "\n".join(problems)
    assert page.page_errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_sign_in_pages_fit(new_page: Any, server: LiveServer, width: int) -> None:
    page = new_page(width=width, height=900)
    problems: list[str] = []
    for path in ["/login", "/signup", "/forgot", "/reset?token=x"]:
        page.goto(path)
        expect(page.get_by_role("button", name=re.compile("."))).not_to_have_count(0)
        problems += measure(page, path)
    assert not problems, "\n".join(problems)
