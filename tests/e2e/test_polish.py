"""Words on screen that used to be wrong: DST badges, plurals, the reset-link messages."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from tests.e2e.conftest import ADMIN_EMAIL, sign_in
from tests.e2e.test_dashboard import next_spring_forward
from tests.live import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None


def first_sunday_of_november(today: date) -> date:
    """The next autumn change in America/New_York (02:00 EDT -> 01:00 EST)."""
    year = today.year
    while True:
        day = date(year, 11, 1)
        day += timedelta(days=(6 - day.weekday()) % 7)
        if day > today:
            return day
        year += 1


def preview(page: Any, cron: str, zone: str, day: date) -> None:
    page.get_by_label("Cron expression").fill(cron)
    picker = page.get_by_role("combobox", name="Timezone")
    picker.fill(zone)
    picker.press("Tab")
    expect(picker).to_have_value(zone)
    page.get_by_label("Preview from date").fill(day.isoformat())


def test_the_inspector_says_moved_by_dst_only_for_moved_runs(
    new_page: Any, server: LiveServer
) -> None:
    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.goto("/jobs/new")
    badges = page.get_by_test_id("dst-count")
    table = page.get_by_role("table", name="Upcoming runs")

    # Spring, a fixed time in the gap: the one run DST moved.
    spring = next_spring_forward(date.today() + timedelta(days=1))
    preview(page, "30 2 * * *", "Europe/Berlin", spring - timedelta(days=2))
    expect(badges).to_have_text("1 moved by DST")
    expect(table.locator("tr[data-dst-effect=moved]")).to_have_count(1)

    # Autumn, a wall-clock schedule: 01:30 happens twice and runs at both; nothing moved.
    autumn = first_sunday_of_november(date.today())
    preview(page, "30 * * * *", "America/New_York", autumn)
    expect(badges).to_have_text("2 in an hour DST repeats")
    expect(badges).to_have_attribute("data-testid", "dst-count")
    expect(badges.locator("[data-dst-effect=repeated]")).to_have_attribute(
        "title", re.compile("^Clocks go back")
    )
    expect(table.locator("tr[data-dst-effect=repeated]")).to_have_count(2)
    expect(page.get_by_text(re.compile("moved by DST"))).to_have_count(0)

    # Autumn, a fixed time: runs once, in the first pass; still not "moved".
    preview(page, "30 1 * * *", "America/New_York", autumn - timedelta(days=1))
    expect(badges).to_have_text("1 in an hour DST repeats")
    expect(table.get_by_test_id("dst-note")).to_contain_text("runs once")

    # Spring, a wall-clock schedule: the times in the gap are skipped, the next run is not moved.
    preview(page, "*/30 * * * *", "Europe/Berlin", spring)
    expect(badges).to_have_text("1 after times DST skipped")
    expect(page.get_by_text(re.compile("moved by DST"))).to_have_count(0)
    assert page.page_errors == []


def test_one_account_is_one_account(new_page: Any, server: LiveServer) -> None:
    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.goto("/admin")
    card = page.locator(".card", has=page.get_by_role("table", name="Users"))
    expect(card.locator(".card-header")).to_contain_text("1 account")
    expect(card.locator(".card-header")).not_to_contain_text("accounts")


def test_the_reset_link_is_offered_once(new_page: Any, server: LiveServer) -> None:
    page = new_page()
    page.goto("/forgot")
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_role("button", name="Send reset link").click()
    card = page.locator(".auth-card")
    expect(card.get_by_role("heading", name="Check your inbox")).to_be_visible()
    text = card.inner_text()
    assert text.count("link") == 2, text  # "an e-mail with a link ...", "The link works once"
    assert "We'll e-mail you a link" not in text

    page.goto("/reset?token=not-a-real-token")
    page.get_by_label("New password", exact=True).fill("a much longer password")
    page.get_by_label("Repeat the new password").fill("a much longer password")
    page.get_by_role("button", name="Set new password").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This reset link is not valid. Request a new link.")
    assert "request a new one" not in alert.inner_text().lower()
    expect(alert.get_by_role("link", name="Request a new link")).to_have_attribute(
        "href", "/forgot"
    )
