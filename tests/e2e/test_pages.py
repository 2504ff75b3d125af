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
