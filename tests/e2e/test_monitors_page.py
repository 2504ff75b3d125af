"""The Monitors pages in Chromium against a live `dts up`: create a heartbeat monitor in the
form, ping its URL from outside (as a cron line would), and watch the list and the detail
page follow without a reload."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import sign_up
from tests.e2e.test_dashboard import next_spring_forward
from tests.live import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

LIVE_MS = 20_000  # how long a state may take to change on screen


def ping_path(page: Any) -> str:
    """The ping URL's path (`/ping/<uuid>`), read from the detail page after "Show"."""
    page.get_by_role("button", name="Show").click()
    url = page.get_by_test_id("ping-url").inner_text()
    found = re.search(r"/ping/[0-9a-f-]{36}$", url)
    assert found, url
    return found.group(0)


def test_create_a_monitor_ping_it_and_watch_it_go_up_live(
    new_page: Any, server: LiveServer
) -> None:
    page = new_page()
    sign_up(page, "cron-owner@example.com")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Monitors", exact=True).click()
    page.wait_for_url("**/monitors")
    expect(nav.get_by_role("link", name="Monitors")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="No monitors yet")).to_be_visible()
    expect(page.get_by_text("secret ping URL")).to_be_visible()

    page.get_by_role("link", name="New monitor").first.click()
    page.wait_for_url("**/monitors/new")
    page.get_by_label("Name", exact=True).fill("nightly backup on db-2")
    page.get_by_label("Cron expression").fill("30 2 * * *")
    page.get_by_role("combobox", name="Timezone").fill("Europe/Berl")
    page.get_by_role("option", name=re.compile(r"^Europe\/Berlin")).first.click()
    expect(page.get_by_test_id("schedule-description")).to_have_text("At 02:30 every day")
    # The inspector shows the expected pings in the monitor's zone and the viewer's.
    expect(page.get_by_role("table", name="Upcoming runs")).to_contain_text("Europe/Berlin")
    # DST-aware: on the spring-forward night 02:30 does not exist in Berlin; the ping is
    # expected at 03:00 CEST, and the preview says so.
    before = next_spring_forward(date.today() + timedelta(days=1)) - timedelta(days=2)
    page.get_by_label("Preview from date").fill(before.isoformat())
    expect(page.get_by_test_id("dst-note").first).to_contain_text("does not exist")
    expect(page.get_by_role("table", name="Upcoming runs")).to_contain_text("03:00")
    page.get_by_label("Grace time", exact=True).fill("15")
    page.get_by_label("Expected duration", exact=True).fill("1")
    page.get_by_label("Expected duration: unit").select_option("h")
    page.get_by_role("button", name="Create monitor").click()

    page.wait_for_url(re.compile(r".*/monitors/\d+$"))
    monitor_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text("nightly backup on db-2")
    expect(page.get_by_test_id("monitor-state")).to_have_text("New")
    # The secret is masked until shown; the curl lines follow what is shown.
    expect(page.get_by_test_id("ping-url")).to_contain_text("•")
    path = ping_path(page)
    expect(page.get_by_test_id("ping-url")).not_to_contain_text("•")
    expect(page.locator("pre", has_text=f"{path}/start")).to_be_visible()  # open: no ping yet
    expect(page.locator("pre", has_text=f"{path}/fail")).to_be_visible()
    expect(page.get_by_text("15 min: late until then, down after")).to_be_visible()

    # The list shows it as new; a ping from outside turns it up without a reload.
    nav.get_by_role("link", name="Monitors").click()
    row = page.locator(f"tr[data-monitor-id='{monitor_id}']")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "NEW")
    expect(row).to_contain_text("Never")
    expect(row).to_contain_text("30 2 * * *")
    answer = httpx.post(server.url + path, content=b"backup: 12 GB in 4 min\n")
    assert answer.status_code == 200, answer.text
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "UP", timeout=LIVE_MS)
    expect(page.get_by_test_id("monitor-summary")).to_have_text("1 monitor: 1 up")
    expect(row).to_contain_text("just now")
    # Next expected: 02:30 in Berlin, shown in the viewer's zone (New York) and the monitor's.
    expect(row).to_contain_text("02:30 CE")
    expect(row).to_contain_text("monitor time")

    # The detail page lists the ping with its log; a failing exit status arrives live.
    row.get_by_role("link", name="nightly backup on db-2").click()
    page.wait_for_url(f"**/monitors/{monitor_id}")
    pings = page.get_by_role("table", name="Pings")
    expect(pings.locator("tr[data-kind=SUCCESS]")).to_have_count(1)
    expect(page.get_by_test_id("next-expected")).to_contain_text("monitor")
    pings.get_by_role("button", name=re.compile("View log")).click()
    expect(page.get_by_test_id("ping-log")).to_have_text("backup: 12 GB in 4 min\n")
    assert httpx.get(server.url + path + "/3").status_code == 200
    expect(page.get_by_test_id("monitor-state")).to_have_text("Down", timeout=LIVE_MS)
    failed = pings.locator("tr[data-kind=FAIL]")
    expect(failed).to_have_count(1)
    expect(failed.locator("td").nth(2)).to_have_text("3")
    expect(failed).to_contain_text("127.0.0.1")

    # Pause: the badge says so and the next expected ping is gone; resume starts over as new.
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("main").locator("[data-state]").first).to_have_attribute(
        "data-state", "PAUSED"
    )
    expect(page.get_by_test_id("next-expected")).to_contain_text("paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_test_id("monitor-state")).to_have_text("New")

    # A /start makes it running, live; the list says when it started.
    assert httpx.get(server.url + path + "/start").status_code == 200
    expect(page.get_by_test_id("monitor-state")).to_have_text("Running", timeout=LIVE_MS)
    expect(pings.locator("tr[data-kind=START]")).to_have_count(1)
    nav.get_by_role("link", name="Monitors").click()
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "RUNNING")
    expect(row).to_contain_text("started just now")
    assert page.page_errors == []


def test_edit_shows_the_apis_field_errors_and_delete_asks_first(
    new_page: Any, server: LiveServer
) -> None:
    page = new_page(width=390, height=844)
    sign_up(page, "period-owner@example.com")
    page.goto("/monitors/new")
    page.get_by_label("Name", exact=True).fill("queue drain")
    page.get_by_role("button", name="Every period").click()
    # The form's own check, beside its field.
    page.get_by_label("Period", exact=True).fill("30")
    page.get_by_label("Period: unit").select_option("s")
    page.get_by_role("button", name="Create monitor").click()
    period_error = page.locator(".field", has=page.get_by_label("Period", exact=True))
    expect(period_error.locator(".field-error")).to_have_text("must be from 60 seconds to 366 days")
    page.get_by_label("Period: unit").select_option("min")
    expect(period_error.locator(".field-error")).to_have_count(0)
    page.get_by_role("button", name="Create monitor").click()
    page.wait_for_url(re.compile(r".*/monitors/\d+$"))
    expect(page.get_by_role("main")).to_contain_text("every 30 min")
    monitor_id = page.url.rsplit("/", 1)[1]

    # The API's error (extensions.field = input.cron) appears beside the cron field.
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/monitors/{monitor_id}/edit")
    expect(page.get_by_label("Period", exact=True)).to_have_value("30")
    page.get_by_role("button", name="Cron schedule").click()
    page.get_by_label("Cron expression").fill("61 * * * *")
    page.get_by_role("button", name="Save changes").click()
    cron_field = page.locator(".field", has=page.get_by_label("Cron expression"))
    expect(cron_field.locator(".field-error")).to_contain_text("61")
    expect(page.get_by_label("Cron expression")).to_have_attribute("aria-invalid", "true")
    assert page.url.endswith("/edit")

    page.get_by_label("Cron expression").fill("*/10 * * * *")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/monitors/{monitor_id}")
    expect(page.get_by_role("main")).to_contain_text("*/10 * * * *")

    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("answers 404")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete monitor").click()
    page.wait_for_url("**/monitors")
    expect(page.get_by_role("heading", name="No monitors yet")).to_be_visible()
    assert page.page_errors == []
