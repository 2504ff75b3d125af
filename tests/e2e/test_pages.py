"""The global Runs page, the standalone Inspector and the API tokens page, in Chromium
against a live `dts up`: what a person clicks and sees."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, Target, graphql, sign_in
from tests.e2e.test_dashboard import next_spring_forward, wait_until_finished
from tests.live import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken } }"""
CREATE_JOB = """mutation($input: JobInput!) { createJob(input: $input) { id name } }"""
TRIGGER = """mutation($id: ID!) { triggerJob(id: $id) { id } }"""


def admin_token(server: LiveServer) -> str:
    data = graphql(server.url, LOGIN, {"email": ADMIN_EMAIL, "password": PASSWORD})
    return str(data["login"]["accessToken"])


def http_job(server: LiveServer, token: str, name: str, url: str) -> str:
    job = graphql(
        server.url,
        CREATE_JOB,
        {
            "input": {
                "type": "HTTP",
                "name": name,
                "schedule": {"cron": "0 3 * * *", "timezone": "UTC"},
                "http": {"method": "POST", "url": url},
                "retry": {"maxAttempts": 1},
                "paused": True,
            }
        },
        token,
    )["createJob"]
    return str(job["id"])


def run_once(server: LiveServer, token: str, job_id: str) -> str:
    run = graphql(server.url, TRIGGER, {"id": job_id}, token)["triggerJob"]
    wait_until_finished(server, run["id"], token)
    return str(run["id"])


def test_nav_has_runs_inspector_and_api_tokens_pages(new_page: Any, server: LiveServer) -> None:
    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Jobs", "Runs", "Inspector", "Workers", "API tokens"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()

    nav.get_by_role("link", name="API tokens").click()
    page.wait_for_url("**/tokens")
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    expect(page).to_have_title("API tokens · dts")
    expect(nav.get_by_role("link", name="API tokens")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("button", name="Create token")).to_be_visible()

    # The account page (from the user chip) is about the account, and links to the tokens.
    page.goto("/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Account")
    expect(page.get_by_role("link", name="API tokens").last).to_have_attribute("href", "/tokens")

    nav.get_by_role("link", name="Runs").click()
    page.wait_for_url("**/runs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs")
    nav.get_by_role("link", name="Inspector").click()
    page.wait_for_url("**/inspector*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inspector")
    assert page.page_errors == []


def test_runs_page_shows_failures_first_filters_and_updates_live(
    new_page: Any, server: LiveServer, target: Target
) -> None:
    token = admin_token(server)
    failing = http_job(server, token, "payments-export", target.url + "?fail=1")
    passing = http_job(server, token, "daily-ping", target.url)
    run_once(server, token, failing)
    run_once(server, token, passing)

    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.goto("/runs")
    table = page.get_by_role("table", name="Runs")
    # Failures first: the default view holds the failed run only.
    expect(page.get_by_label("Status")).to_have_value("failures")
    expect(table.get_by_role("link", name="payments-export")).to_have_count(1)
    expect(table.get_by_role("link", name="daily-ping")).to_have_count(0)
    expect(table.locator("[data-status]").first).to_have_attribute("data-status", "FAILED")
    expect(table).to_contain_text("HTTP 503")

    # All statuses: both, newest first; the choice is kept in the URL.
    page.get_by_label("Status").select_option("all")
    expect(page).to_have_url(re.compile(r"/runs\?status=all$"))
    expect(table.get_by_role("link", name="daily-ping")).to_have_count(1)
    expect(table.get_by_role("link", name="payments-export")).to_have_count(1)
    names = table.locator("tbody tr td:nth-child(2) a").all_inner_texts()
    assert names[:2] == ["daily-ping", "payments-export"], names

    page.get_by_label("Status").select_option("SUCCEEDED")
    expect(table.get_by_role("link", name="payments-export")).to_have_count(0)
    expect(table.get_by_role("link", name="daily-ping")).to_have_count(1)

    # A time range that holds nothing says so in words, with a way out.
    page.goto("/runs?range=1h&status=CANCELLED")
    expect(page.get_by_role("heading", name="No cancelled runs in the last hour")).to_be_visible()
    page.get_by_role("button", name="Show all runs").click()
    expect(page).to_have_url(re.compile(r"/runs\?status=all&range=1h$"))
    expect(table.get_by_role("link", name="daily-ping")).to_have_count(1)

    # Live: a failure that happens while the page is open appears without a reload.
    page.goto("/runs")
    expect(table.locator("tbody tr")).to_have_count(1)
    run_once(server, token, failing)
    expect(table.locator("tbody tr")).to_have_count(2, timeout=15_000)

    # A row opens the run.
    table.locator("tbody tr").first.click()
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    assert page.page_errors == []


def test_inspector_page_previews_across_dst_in_several_zones(
    new_page: Any, server: LiveServer
) -> None:
    from datetime import date

    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    spring = next_spring_forward(date.today())
    page.goto(f"/inspector?cron=30+2+*+*+*&tz=Europe/Berlin&from={spring.isoformat()}&count=5")
    inspector = page.get_by_role("region", name="Schedule inspector")
    expect(page.get_by_test_id("schedule-description")).to_contain_text("02:30")
    # The skipped hour: 02:30 does not exist that night in Berlin; the run moves to 03:00.
    expect(inspector.get_by_test_id("dst-note").first).to_contain_text("does not exist")
    rows = inspector.get_by_role("table", name="Upcoming runs").locator("tbody tr")
    expect(rows).to_have_count(5)

    # Compare with another zone: a column of its own, and the URL says so.
    page.get_by_role("button", name="Add a zone").click()
    header = inspector.get_by_role("table", name="Upcoming runs").locator("thead")
    expect(header).to_contain_text("Europe/London")
    expect(page).to_have_url(re.compile(r"zones=Europe%2FLondon"))
    first_london = rows.first.locator("td").last
    expect(first_london).to_contain_text(re.compile(r"0[01]:30|02:00"))

    # A bad expression names the field and the problem, next to the field.
    page.get_by_label("Cron expression").fill("61 * * * *")
    expect(page.get_by_role("alert").filter(has_text="minute")).to_be_visible()

    # Straight into a new job with the previewed schedule.
    page.get_by_label("Cron expression").fill("0 9 * * 1-5")
    expect(page.get_by_test_id("schedule-description")).to_contain_text("09:00")
    page.get_by_role("link", name="New job with this schedule").click()
    page.wait_for_url("**/jobs/new?*")
    expect(page.get_by_label("Cron expression")).to_have_value("0 9 * * 1-5")
    assert page.page_errors == []


SLEEPER = "import time; print('started', flush=True); time.sleep(120)"
RUN_STATUS = """query($id: ID!) { run(id: $id) { status cancelRequested } }"""
JOB_RETRY = """query($id: ID!) {
  job(id: $id) { retry { maxAttempts initialDelay maxDelay multiplier } } }"""


def test_cancelling_a_running_run_asks_first_and_escape_keeps_it(
    new_page: Any, server: LiveServer
) -> None:
    token = admin_token(server)
    job = graphql(
        server.url,
        CREATE_JOB,
        {
            "input": {
                "type": "SCRIPT",
                "name": "long-sleeper",
                "schedule": {"cron": "0 3 * * *", "timezone": "UTC"},
                "script": {"command": "python3", "args": ["-c", SLEEPER]},
                "retry": {"maxAttempts": 1},
                "paused": True,
            }
        },
        token,
    )["createJob"]
    run_id = graphql(server.url, TRIGGER, {"id": job["id"]}, token)["triggerJob"]["id"]

    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.goto(f"/runs/{run_id}")
    status = page.get_by_test_id("run-status").locator("[data-status]")
    expect(status).to_have_attribute("data-status", "RUNNING", timeout=30_000)
    expect(page.get_by_test_id("run-log")).to_contain_text("started", timeout=30_000)

    # Escape closes the dialog and nothing happens.
    page.get_by_role("button", name="Cancel run").click()
    dialog = page.get_by_role("alertdialog", name=f"Cancel run #{run_id}?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("It is running now")
    expect(dialog.get_by_role("button", name="Keep it running")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    # So does "Keep it running".
    page.get_by_role("button", name="Cancel run").click()
    dialog.get_by_role("button", name="Keep it running").click()
    expect(dialog).to_have_count(0)
    page.wait_for_timeout(500)
    run = graphql(server.url, RUN_STATUS, {"id": run_id}, token)["run"]
    assert run == {"status": "RUNNING", "cancelRequested": False}, run

    # Confirmed: the run is cancelled within seconds.
    page.get_by_role("button", name="Cancel run").click()
    dialog.get_by_role("button", name="Cancel run").click()
    expect(dialog).to_have_count(0)
    expect(status).to_have_attribute("data-status", "CANCELLED", timeout=30_000)
    assert page.page_errors == []


def test_job_form_warns_on_a_duplicate_name_and_shows_the_retry_defaults_in_words(
    new_page: Any, server: LiveServer, target: Target
) -> None:
    token = admin_token(server)
    existing = http_job(server, token, "nightly-report", target.url)

    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.goto("/jobs/new")

    # The retry defaults, in words.
    retry = page.get_by_test_id("retry-help")
    expect(retry).to_have_text("Retries after 30 s, then 2 min: 3 attempts in all.")
    expect(page.get_by_test_id("retry-default")).to_have_text("This is the default.")
    page.get_by_label("Max attempts").fill("5")
    expect(retry).to_have_text("Retries after 30 s, 2 min, 8 min, then 10 min: 5 attempts in all.")
    page.get_by_role("button", name=re.compile(r"^Use the default")).click()
    expect(page.get_by_label("Max attempts")).to_have_value("3")
    expect(retry).to_have_text("Retries after 30 s, then 2 min: 3 attempts in all.")

    # A duplicate name warns (case and spaces aside), and links to the other job.
    name = page.get_by_label("Name", exact=True)
    name.fill(" Nightly-Report")
    warning = page.get_by_test_id("duplicate-name")
    expect(warning).to_contain_text("You already have a job named “nightly-report”")
    expect(warning.get_by_role("link", name="open it")).to_have_attribute(
        "href", f"/jobs/{existing}"
    )
    expect(name).to_have_attribute("aria-invalid", "false")
    name.fill("nightly-report-eu")
    expect(warning).to_have_count(0)
    name.fill("nightly-report")
    expect(warning).to_be_visible()

    # ...but does not block: the job is created, with the default retry policy.
    page.get_by_label("URL").fill(target.url)
    page.get_by_role("button", name="Create job").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    created = page.url.rsplit("/", 1)[1]
    assert created != existing
    policy = graphql(server.url, JOB_RETRY, {"id": created}, token)["job"]["retry"]
    assert policy == {"maxAttempts": 3, "initialDelay": 30, "maxDelay": 600, "multiplier": 4}
    assert page.page_errors == []
