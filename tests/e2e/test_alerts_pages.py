"""The alerting pages in Chromium against a live `dts up`: a webhook channel that a real
receiver on loopback gets a signed test from, a job's own rules set in its form, and a
failing script job's incident on the Incidents page; at a laptop's and a phone's width."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.alerting import Receiver
from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, graphql, sign_in, sign_up
from tests.e2e.test_layout import measure, wait_until_finished
from tests.live import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken } }"""
CREATE_JOB = "mutation($input: JobInput!) { createJob(input: $input) { id } }"
TRIGGER = "mutation($id: ID!) { triggerJob(id: $id) { id } }"
RULES = """query($id: ID!) { jobAlertRules(jobId: $id) {
  channelIds failureThreshold onRecovery remindEveryHours } }"""
CHANNELS = "{ alertChannels { id name } }"
SET_DEFAULTS = (
    "mutation($rules: AlertRulesInput!) { setDefaultAlertRules(rules: $rules) { onFailure } }"
)
CREATE_MONITOR = """mutation { createMonitor(input: {name: "offsite-backup", periodSeconds: 86400})
  { id pingUrl } }"""
JOB_NAME = "nightly-ledger-reconciliation"
# A relative time's hover text: the absolute one ("3 Dec 2026, 09:00:04").
ABSOLUTE_TIME = re.compile(r"\d{4}.*\d{2}:\d{2}:\d{2}")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """The aiohttp webhook receiver of tests/alerting.py, on its own event loop in a thread
    (Playwright's sync API holds the main thread's loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    found = Receiver()
    asyncio.run_coroutine_threadsafe(found.start(), loop).result(10)
    try:
        yield found
    finally:
        asyncio.run_coroutine_threadsafe(found.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def token_of(server: LiveServer) -> str:
    data = graphql(server.url, LOGIN, {"email": ADMIN_EMAIL, "password": PASSWORD})
    return str(data["login"]["accessToken"])


def eventually(check: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_channel_test_rules_in_the_job_form_and_the_incident(
    new_page: Any, server: LiveServer, receiver: Receiver
) -> None:
    token = token_of(server)
    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    page.wait_for_url("**/incidents")
    expect(page.get_by_role("heading", name="Nothing is failing")).to_be_visible()
    page.get_by_role("link", name="Notifications").first.click()
    page.wait_for_url("**/notifications")
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")

    # A field error appears beside its field, before anything is sent.
    form = page.get_by_role("form", name="Add a channel")
    form.get_by_label("Name").fill("ops mail")
    form.get_by_label("Address").fill("not-an-address")
    form.get_by_role("button", name="Add channel").click()
    expect(form.get_by_label("Address")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_have_text("Not an e-mail address.")

    form.get_by_label("Address").fill("ops@example.com")
    form.get_by_role("button", name="Add channel").click()
    mail = page.locator("tr[data-channel='ops mail']")
    expect(mail).to_contain_text("ops@example.com")
    expect(page.get_by_test_id("signing-secret")).to_have_count(0)  # e-mail: no secret
    # Deleting asks first; cancelling keeps it.
    mail.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text('Delete "ops mail"?')
    dialog.get_by_role("button", name="Cancel").click()
    expect(mail).to_be_visible()
    mail.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete channel").click()
    expect(mail).to_have_count(0)

    # A webhook: the signing secret is shown once, and a test arrives signed with it.
    form.get_by_role("group", name="Channel kind").get_by_role("button", name="Webhook").click()
    form.get_by_label("Name").fill("ops hook")
    form.get_by_label("URL").fill(receiver.url("/hook?key=secret-in-the-query"))
    form.get_by_role("button", name="Add channel").click()
    secret = page.get_by_test_id("signing-secret").inner_text()
    assert secret.startswith("whsec_")
    row = page.locator("tr[data-channel='ops hook']")
    expect(row).to_contain_text("http://127.0.0.1/…")  # masked: the query is a secret
    assert "secret-in-the-query" not in page.content()
    row.get_by_role("button", name="Send test").click()
    expect(row.get_by_test_id("test-result")).to_have_text("✓ Delivered")
    [delivery] = receiver.deliveries
    assert delivery.json["event"] == "test" and delivery.signed_with(secret)
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("signing-secret")).to_have_count(0)
    page.reload()
    expect(page.get_by_test_id("signing-secret")).to_have_count(0)  # shown once only

    # The default rules: saved, and shown again after a reload.
    defaults = page.get_by_role("form", name="Default rules")
    defaults.get_by_label("ops hook").check()
    defaults.get_by_label("Open an incident after").fill("3")
    defaults.get_by_role("button", name="Save default rules").click()
    expect(page.get_by_text("Default rules saved")).to_be_visible()
    page.reload()
    expect(defaults.get_by_label("ops hook")).to_be_checked()
    expect(defaults.get_by_label("Open an incident after")).to_have_value("3")

    # A script job that fails; its own rules are set in its form.
    job_id = graphql(
        server.url,
        CREATE_JOB,
        {
            "input": {
                "type": "SCRIPT",
                "name": JOB_NAME,
                "schedule": {"cron": "0 3 * * *", "timezone": "UTC"},
                "script": {"command": "python3", "args": ["-c", "raise SystemExit(3)"]},
                "retry": {"maxAttempts": 1},
                "paused": True,
            }
        },
        token,
    )["createJob"]["id"]
    page.goto(f"/jobs/{job_id}/edit")
    section = page.get_by_role("region", name="Notifications")
    section.get_by_role("button", name="This job's own rules").click()
    # Own rules start from the defaults (ops hook, 3 in a row): alert on the first failure.
    expect(section.get_by_label("ops hook")).to_be_checked()
    expect(section.get_by_label("Open an incident after")).to_have_value("3")
    section.get_by_label("Open an incident after").fill("1")
    section.get_by_text("Remind me while it stays failing").click()
    section.get_by_label("Remind every (hours)").fill("0.1")
    page.get_by_role("button", name="Save changes").click()
    expect(section.get_by_label("Remind every (hours)")).to_have_attribute("aria-invalid", "true")
    expect(section.get_by_text("Hours from 0.25 (15 minutes) to 720 (30 days).")).to_be_visible()
    section.get_by_label("Remind every (hours)").fill("6")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/jobs/{job_id}")
    channel_id = next(c["id"] for c in graphql(server.url, CHANNELS, {}, token)["alertChannels"])
    rules = graphql(server.url, RULES, {"id": job_id}, token)["jobAlertRules"]
    assert rules == {
        "channelIds": [channel_id],
        "failureThreshold": 1,
        "onRecovery": True,
        "remindEveryHours": 6.0,
    }
    expect(page.get_by_test_id("job-rules-summary")).to_have_text(
        "Own rules: ops hook when a run fails, times out, is lost; on recovery; "
        "reminders every 6 h."
    )
    # The form shows the saved rules again.
    page.goto(f"/jobs/{job_id}/edit")
    expect(section.get_by_label("ops hook")).to_be_checked()
    expect(section.get_by_label("Remind every (hours)")).to_have_value("6")

    # The run fails: an incident opens, the receiver is told, the pages show it.
    page.goto("/incidents")
    expect(page.get_by_role("heading", name="Nothing is failing")).to_be_visible()
    run_id = graphql(server.url, TRIGGER, {"id": job_id}, token)["triggerJob"]["id"]
    wait_until_finished(server, run_id, token)
    opened = page.get_by_role("table", name="Open incidents").locator("tr[data-incident]")
    expect(opened).to_have_count(1)  # live: the page was open before the run failed
    expect(opened).to_contain_text(JOB_NAME)
    expect(opened).to_contain_text("Failed")
    expect(opened.get_by_role("link", name=JOB_NAME)).to_have_attribute("href", f"/jobs/{job_id}")
    expect(opened.locator("time").first).to_have_attribute("title", ABSOLUTE_TIME)
    eventually(lambda: "incident.opened" in receiver.events("/hook"), "the opened notice")
    opened_notice = next(d for d in receiver.deliveries if d.json["event"] == "incident.opened")
    assert opened_notice.signed_with(secret)
    assert opened_notice.json["incident"]["name"] == JOB_NAME

    page.get_by_role("group", name="Which incidents").get_by_role("button", name="All").click()
    expect(page.get_by_role("heading", name="No resolved incidents")).to_be_visible()
    opened.get_by_role("link", name=JOB_NAME).click()
    page.wait_for_url(f"**/jobs/{job_id}")
    history = page.get_by_role("table", name="Job incidents").locator("tr[data-incident]")
    expect(history).to_have_count(1)
    expect(history.locator("[data-status]")).to_have_text("Open")
    assert page.page_errors == []

    # A monitor that reports a failing exit status: its incident, under "Monitors".
    graphql(server.url, SET_DEFAULTS, {"rules": {"channelIds": [channel_id]}}, token)
    monitor = graphql(server.url, CREATE_MONITOR, {}, token)["createMonitor"]
    ping = "/ping/" + monitor["pingUrl"].rsplit("/", 1)[1]
    assert httpx.post(server.url + ping + "/3", content=b"disk full").text == "OK"
    page.goto("/incidents")
    page.get_by_label("Filter by subject").select_option("MONITOR")
    down = page.get_by_role("table", name="Open incidents").locator("tr[data-incident]")
    expect(down).to_have_count(1)
    expect(down).to_contain_text("Down")
    link = down.get_by_role("link", name="offsite-backup")
    expect(link).to_have_attribute("href", f"/monitors/{monitor['id']}")
    page.get_by_label("Filter by subject").select_option("JOB")
    expect(down).to_have_count(1)
    expect(down).to_contain_text(JOB_NAME)

    # A member sees neither the admin's incident nor their channel.
    member = new_page()
    sign_up(member, "member@example.com")
    member.goto("/incidents")
    expect(member.get_by_role("heading", name="Nothing is failing")).to_be_visible()
    member.goto("/notifications")
    expect(member.get_by_role("heading", name="No channels")).to_be_visible()
    assert member.page_errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_alert_pages_fit(new_page: Any, server: LiveServer, width: int) -> None:
    """After the flow above (the same server): a channel, rules and an incident to show."""
    page = new_page(width=width, height=900)
    sign_in(page, ADMIN_EMAIL)
    problems: list[str] = []
    page.goto("/notifications")
    expect(page.get_by_role("heading", name="Default rules")).to_be_visible()
    problems += measure(page, "/notifications")
    page.goto("/incidents")
    page.get_by_role("group", name="Which incidents").get_by_role("button", name="All").click()
    expect(page.get_by_role("heading", name="No resolved incidents")).to_be_visible()
    page.wait_for_load_state("networkidle")
    problems += measure(page, "/incidents")
    page.goto("/jobs")
    page.get_by_role("link", name=JOB_NAME).first.click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    page.wait_for_load_state("networkidle")
    problems += measure(page, "job detail with incidents")
    page.get_by_role("link", name="Notifications", exact=True).last.click()
    expect(
        page.get_by_role("region", name="Notifications").get_by_label("ops hook")
    ).to_be_checked()
    problems += measure(page, "job form with its own rules")
    assert not problems, "\n".join(problems)
    assert page.page_errors == []


ADD_CHANNEL = """mutation($input: AlertChannelInput!) {
  createAlertChannel(input: $input) { channel { id } } }"""
MONITOR_RULES = """query($id: ID!) { monitorAlertRules(monitorId: $id) {
  channelIds onFailure onRecovery remindEveryHours } }"""


def test_a_monitors_own_rules_in_its_form_and_its_incident_on_its_page(
    new_page: Any, server: LiveServer, receiver: Receiver
) -> None:
    """After the flow above (the same server: the admin's defaults notify "ops hook")."""
    token = token_of(server)
    webhook = {"name": "db pager", "kind": "WEBHOOK", "url": receiver.url("/db-pager")}
    pager = graphql(server.url, ADD_CHANNEL, {"input": webhook}, token)
    pager_id = pager["createAlertChannel"]["channel"]["id"]
    create = """mutation { createMonitor(input: {name: "db-dump", periodSeconds: 86400})
      { id pingUrl } }"""
    monitor = graphql(server.url, create, {}, token)["createMonitor"]
    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.goto(f"/monitors/{monitor['id']}")
    summary = page.get_by_test_id("monitor-rules-summary")
    expect(summary).to_contain_text("Your defaults: ops hook when it is late, down")
    expect(page.get_by_role("heading", name="No incidents")).to_be_visible()

    page.get_by_role("link", name="Notifications", exact=True).last.click()
    page.wait_for_url(f"**/monitors/{monitor['id']}/edit#notifications")
    section = page.get_by_role("region", name="Notifications")
    section.get_by_role("button", name="This monitor's own rules").click()
    # Own rules start from the defaults; a monitor's problems obey one switch, no threshold.
    expect(section.get_by_label("ops hook")).to_be_checked()
    expect(section.get_by_label("Open an incident after")).to_have_count(0)
    expect(section.get_by_text("It is late, down or runs too long")).to_be_visible()
    section.get_by_label("ops hook").uncheck()
    section.get_by_label("db pager").check()
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/monitors/{monitor['id']}")
    rules = graphql(server.url, MONITOR_RULES, {"id": monitor["id"]}, token)["monitorAlertRules"]
    assert rules == {
        "channelIds": [pager_id],
        "onFailure": True,
        "onRecovery": True,
        "remindEveryHours": None,
    }
    expect(summary).to_have_text(
        "Own rules: db pager when it is late, down or runs too long; on recovery."
    )

    # A failing exit status: the incident is listed on the monitor's page (live), and its
    # own channel is told, not the defaults'.
    before = len(receiver.events("/hook"))
    ping = "/ping/" + monitor["pingUrl"].rsplit("/", 1)[1]
    assert httpx.post(server.url + ping + "/2", content=b"pg_dump: error").text == "OK"
    history = page.get_by_role("table", name="Monitor incidents").locator("tr[data-incident]")
    expect(history).to_have_count(1)
    expect(history.locator("[data-status]")).to_have_text("Open")
    expect(history).to_contain_text("Down")
    eventually(lambda: "incident.opened" in receiver.events("/db-pager"), "the opened notice")
    assert len(receiver.events("/hook")) == before
    # The form shows the saved rules again.
    page.goto(f"/monitors/{monitor['id']}/edit")
    expect(section.get_by_label("db pager")).to_be_checked()
    expect(section.get_by_label("ops hook")).not_to_be_checked()
    assert page.page_errors == []
