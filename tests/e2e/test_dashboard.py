"""The dashboard in a real browser against a live `dts up`: what a person does and sees."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    PASSWORD,
    REGISTER,
    Target,
    graphql,
    screenshot,
    sign_in,
    sign_up,
)
from tests.live import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

CREATE_JOB = """mutation($input: JobInput!) { createJob(input: $input) { id name } }"""
LIVE_MS = 30_000  # how long a status may take to change on screen


def next_spring_forward(today: date) -> date:
    """The last Sunday of March on or after today: when Europe/Berlin skips 02:00-03:00."""
    year = today.year
    while True:
        day = date(year, 3, 31)
        day -= timedelta(days=(day.weekday() + 1) % 7)
        if day >= today:
            return day
        year += 1


def test_sign_up_create_http_job_trigger_and_watch_it_succeed(
    new_page: Any, server: LiveServer, target: Target
) -> None:
    page = new_page()
    sign_up(page, "ops@example.com")
    expect(page.get_by_role("heading", name="No jobs yet")).to_be_visible()

    page.get_by_role("link", name="New job").first.click()
    page.wait_for_url("**/jobs/new")
    page.get_by_label("Name", exact=True).fill("nightly-report")
    page.get_by_label("Method").select_option("POST")
    page.get_by_label("URL").fill(target.url)

    # Headers: Authorization is always secret; X-Signature is made secret by its switch.
    page.get_by_role("button", name="Add header").click()
    page.get_by_label("Header 1 name").fill("Authorization")
    page.get_by_label("Header 1 value").fill("Bearer s3cret")
    expect(page.get_by_label("Header 1 is secret")).to_be_checked()
    page.get_by_role("button", name="Add header").click()
    page.get_by_label("Header 2 name").fill("X-Signature")
    page.get_by_label("Header 2 value").fill("sig-123")
    page.get_by_label("Header 2 is secret").check(force=True)

    # The JSON body is checked as it is typed.
    page.get_by_label("JSON body").check(force=True)
    page.get_by_label("Body", exact=True).fill('{"report": ')
    expect(page.get_by_text(re.compile("not valid JSON"))).to_be_visible()
    page.get_by_label("Body", exact=True).fill('{"report": "nightly"}')
    expect(page.get_by_text(re.compile("not valid JSON"))).to_have_count(0)

    # Cron validation shows the API's message next to the field, then the description.
    cron = page.get_by_label("Cron expression")
    cron.fill("61 * * * *")
    expect(page.get_by_text(re.compile("minute field.*out of range"))).to_be_visible()
    cron.fill("30 2 * * *")
    page.get_by_label("Timezone").fill("berl")
    page.get_by_role("option", name=re.compile(r"^Europe\/Berlin")).click()
    expect(page.get_by_test_id("schedule-description")).to_have_text("At 02:30 every day")

    # The inspector, from a few days before the spring change: 02:30 does not exist that night.
    spring = next_spring_forward(date.today() + timedelta(days=1))
    page.get_by_label("Preview from date").fill((spring - timedelta(days=3)).isoformat())
    note = page.get_by_test_id("dst-note").first
    expect(note).to_contain_text("02:30 does not exist")
    expect(note).to_contain_text("03:00 CEST")
    expect(page.get_by_test_id("dst-count")).to_be_visible()
    upcoming = page.get_by_role("table", name="Upcoming runs")
    expect(upcoming.get_by_role("columnheader", name=re.compile("UTC"))).to_be_visible()
    expect(
        upcoming.get_by_role("columnheader", name="Your time · America/New_York")
    ).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 2100})
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    screenshot(page, "job-form")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("button", name="Create job").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_role("heading", name="nightly-report")).to_be_visible()

    # Trigger: the run goes queued → running → succeeded on screen, with no reload.
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Trigger now").click()
    succeeded = page.locator("tr[data-run-id] [data-status='SUCCEEDED']")
    expect(succeeded.first).to_be_visible(timeout=LIVE_MS)
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "job-detail")

    request = target.requests[-1]
    assert request["method"] == "POST"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["X-Signature"] == "sig-123"
    assert request["body"] == '{"report":"nightly"}'

    # The run: its result and its log.
    page.locator("tr[data-run-id] a[aria-label$='Succeeded']").first.click()
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    expect(page.get_by_test_id("run-status").locator("[data-status]")).to_have_attribute(
        "data-status", "SUCCEEDED"
    )
    expect(page.get_by_test_id("run-result")).to_have_text("HTTP 200")
    log = page.get_by_test_id("run-log")
    expect(log).to_contain_text("200 OK")
    expect(log).to_contain_text('"ok": true')
    screenshot(page, "run-detail")

    # Editing keeps the stored secrets (sent back as the mask) and shows them as kept.
    page.get_by_role("link", name="nightly-report").click()
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/edit$"))
    expect(page.get_by_text("Stored secret (kept)")).to_have_count(2)
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    before = len(target.requests)
    page.get_by_role("button", name="Trigger now").click()
    expect(page.locator("tr[data-run-id] [data-status='SUCCEEDED']")).to_have_count(
        2, timeout=LIVE_MS
    )
    assert len(target.requests) == before + 1
    assert target.requests[-1]["headers"]["Authorization"] == "Bearer s3cret"
    assert target.requests[-1]["headers"]["X-Signature"] == "sig-123"
    assert page.page_errors == []


TICKER = "import time; [(print(f'tick {i}', flush=True), time.sleep(0.9)) for i in range(1, 7)]"


def test_script_job_log_lines_appear_live_while_it_runs(new_page: Any, server: LiveServer) -> None:
    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.goto("/jobs/new")
    page.get_by_role("button", name="Script").click()
    page.get_by_label("Name", exact=True).fill("ticker")
    page.get_by_label("Command").fill("python3")
    page.get_by_role("button", name="Add argument").click()
    page.get_by_label("Argument 1", exact=True).fill("-c")
    page.get_by_role("button", name="Add argument").click()
    # A one-line program: the argument field is a single line.
    page.get_by_label("Argument 2", exact=True).fill(TICKER)
    page.get_by_label("Cron expression").fill("0 0 1 1 *")
    expect(page.get_by_test_id("schedule-description")).not_to_have_text("…")

    # An error only the server can find (the directory must be inside DTS_SCRIPT_ROOT)
    # appears next to its field, input.script.cwd.
    cwd = page.get_by_label("Working directory")
    cwd.fill("/etc")
    page.get_by_role("button", name="Create job").click()
    field = page.locator(".field", has=cwd)
    expect(field.get_by_role("alert")).to_contain_text("outside the script root")
    expect(cwd).to_have_attribute("aria-invalid", "true")
    cwd.fill("./")
    expect(cwd).to_have_attribute("aria-invalid", "false")
    page.get_by_role("button", name="Create job").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))

    page.get_by_role("button", name="Trigger now").click()
    page.locator("tr[data-run-id] a").first.click()
    page.wait_for_url(re.compile(r"/runs/\d+$"))

    log = page.get_by_test_id("run-log")
    status = page.get_by_test_id("run-status").locator("[data-status]")
    expect(log).to_contain_text("tick 1", timeout=LIVE_MS)
    # The first line is on screen while the run is still going and later lines are not.
    expect(status).to_have_attribute("data-status", "RUNNING")
    assert "tick 6" not in log.inner_text()
    expect(log).to_contain_text("tick 3", timeout=LIVE_MS)
    screenshot(page, "run-live-log")
    expect(log).to_contain_text("tick 6", timeout=LIVE_MS)
    expect(status).to_have_attribute("data-status", "SUCCEEDED", timeout=LIVE_MS)
    expect(page.get_by_test_id("run-result")).to_have_text("exit 0")
    assert page.page_errors == []


def test_a_member_cannot_see_another_members_job(
    new_page: Any, server: LiveServer, target: Target
) -> None:
    owner = graphql(server.url, REGISTER, {"email": "alice@example.com", "password": PASSWORD})
    assert owner["register"]["user"]["role"] == "MEMBER"
    job = graphql(
        server.url,
        CREATE_JOB,
        {
            "input": {
                "type": "HTTP",
                "name": "alice-private-job",
                "schedule": {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"},
                "http": {"method": "GET", "url": target.url},
            }
        },
        owner["register"]["accessToken"],
    )["createJob"]

    alice = new_page()
    sign_in(alice, "alice@example.com")
    expect(alice.get_by_role("link", name="alice-private-job")).to_be_visible()

    bob = new_page()
    sign_up(bob, "bob@example.com")
    expect(bob.get_by_role("heading", name="No jobs yet")).to_be_visible()
    expect(bob.get_by_text("alice-private-job")).to_have_count(0)
    bob.goto(f"/jobs/{job['id']}")
    expect(bob.get_by_role("heading", name="Job not found")).to_be_visible()
    expect(bob.get_by_text("alice-private-job")).to_have_count(0)
    bob.goto(f"/jobs/{job['id']}/edit")
    expect(bob.get_by_role("heading", name="Job not found")).to_be_visible()


def test_reset_link_route_and_errors_next_to_fields(new_page: Any, server: LiveServer) -> None:
    page = new_page()
    page.goto("/reset?token=not-a-real-token")
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("use at least 8 characters")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("a much longer password")
    page.get_by_label("Repeat the new password").fill("a much longer password")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_contain_text("This link cannot be used")
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    page.goto("/login")
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    screenshot(page, "sign-in")


LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken } }"""
TRIGGER = """mutation($id: ID!) { triggerJob(id: $id) { id } }"""
RUN_STATUS = """query($id: ID!) { run(id: $id) { status } }"""
PAUSE = """mutation($id: ID!) { pauseJob(id: $id) { id } }"""


def seed_jobs(server: LiveServer, target: Target) -> None:
    """A few jobs with some history, so the screenshots show a dashboard in use."""
    token = graphql(server.url, LOGIN, {"email": ADMIN_EMAIL, "password": PASSWORD})["login"][
        "accessToken"
    ]
    specs = [
        ("billing-sync", "*/15 * * * *", "UTC", target.url + "?flaky=1", 9),
        ("partner-feed", "0 */2 * * *", "Asia/Tokyo", target.url + "?fail=1", 1),
        ("weekly-digest", "0 8 * * 1", "America/New_York", target.url, 2),
        ("cache-warmup", "*/5 9-17 * * 1-5", "Europe/London", target.url, 0),
    ]
    for name, cron, zone, url, runs in specs:
        job = graphql(
            server.url,
            CREATE_JOB,
            {
                "input": {
                    "type": "HTTP",
                    "name": name,
                    "schedule": {"cron": cron, "timezone": zone},
                    "http": {"method": "POST", "url": url},
                    "retry": {"maxAttempts": 1},
                }
            },
            token,
        )["createJob"]
        for _ in range(runs):
            run = graphql(server.url, TRIGGER, {"id": job["id"]}, token)["triggerJob"]
            wait_until_finished(server, run["id"], token)
        if name == "cache-warmup":
            graphql(server.url, PAUSE, {"id": job["id"]}, token)


def wait_until_finished(server: LiveServer, run_id: str, token: str) -> None:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = graphql(server.url, RUN_STATUS, {"id": run_id}, token)["run"]["status"]
        if status not in ("QUEUED", "RUNNING"):
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def test_main_pages_in_light_dark_and_on_a_phone(
    new_page: Any, server: LiveServer, target: Target
) -> None:
    """Screenshots of the main pages (artifacts/screenshots), with no script errors."""
    seed_jobs(server, target)
    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    expect(page.get_by_role("table", name="Jobs")).to_be_visible()
    expect(page.locator("tr[data-job-id]", has_text="billing-sync")).to_be_visible()
    screenshot(page, "jobs")
    page.locator("tr[data-job-id] a", has_text="billing-sync").click()
    expect(page.locator("tr[data-run-id]")).to_have_count(9)
    screenshot(page, "job-detail-history")

    page.get_by_role("link", name="Workers", exact=True).click()
    expect(page.get_by_test_id("workers-alive")).to_have_text("1")
    screenshot(page, "workers")

    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page.get_by_role("table", name="Users")).to_contain_text(ADMIN_EMAIL)
    screenshot(page, "admin-users")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("table", name="Audit log")).to_contain_text("job.create")
    screenshot(page, "admin-audit")
    assert page.page_errors == []

    dark = new_page(color_scheme="dark")
    sign_in(dark, ADMIN_EMAIL)
    expect(dark.locator("tr[data-job-id]").first).to_be_visible()
    screenshot(dark, "jobs-dark")
    dark.locator("tr[data-job-id] a", has_text="billing-sync").click()
    expect(dark.locator("tr[data-run-id]").first).to_be_visible()
    screenshot(dark, "job-detail-dark")
    dark.goto("/jobs/new")
    dark.get_by_label("Cron expression").fill("30 25 * * *")
    expect(dark.get_by_role("alert").first).to_be_visible()
    screenshot(dark.locator("section.form-section", has_text="Schedule"), "job-form-schedule-dark")

    phone = new_page(width=390, height=844)
    sign_in(phone, ADMIN_EMAIL)
    expect(phone.locator("tr[data-job-id]").first).to_be_visible()
    screenshot(phone, "jobs-phone")
    phone.goto("/jobs/new")
    expect(phone.get_by_test_id("schedule-description")).to_have_text("Every 5 minutes")
    screenshot(phone, "job-form-phone")
    assert dark.page_errors == [] and phone.page_errors == []
