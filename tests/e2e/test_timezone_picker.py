"""The job form's timezone picker in Chromium: search, keyboard, canonical names, aliases."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import ADMIN_EMAIL, sign_in
from tests.live import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None


def test_search_by_keyboard_and_legacy_names(new_page: Any, server: LiveServer) -> None:
    # Chromium reports this viewer's zone by its old CLDR name, Asia/Calcutta.
    page = new_page(timezone_id="Asia/Calcutta")
    sign_in(page, ADMIN_EMAIL)
    page.goto("/jobs/new")
    zone = page.get_by_role("combobox", name="Timezone")
    # The viewer's zone is the default, by its current name, underscores and all.
    expect(zone).to_have_value("Asia/Kolkata")
    expect(page.get_by_role("columnheader", name="Your time · Asia/Kolkata")).to_be_visible()

    # Keyboard only: type part of a city, arrow to it, Enter.
    page.get_by_label("Name", exact=True).fill("tz-picker")
    page.get_by_label("URL").fill("http://127.0.0.1:9/hook")
    page.get_by_label("Cron expression").fill("0 9 * * *")
    zone.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("new y")
    expect(zone).to_have_attribute("aria-expanded", "true")
    listbox = page.get_by_role("listbox", name="Timezones")
    expect(listbox.get_by_role("option").first).to_have_text(re.compile(r"^America/New_York"))
    page.keyboard.press("Enter")
    expect(zone).to_have_value("America/New_York")
    expect(zone).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("region", name="Schedule inspector")).to_contain_text(
        "in America/New_York"
    )

    # 'kol' finds Asia/Kolkata; the arrow keys move the active option.
    zone.fill("kol")
    first = listbox.get_by_role("option").first
    expect(first).to_have_text(re.compile(r"^Asia/Kolkata"))
    expect(zone).to_have_attribute("aria-activedescendant", first.get_attribute("id") or "")
    page.keyboard.press("Escape")
    expect(zone).to_have_value("America/New_York")

    # An old name typed in full is taken in its current spelling.
    zone.fill("Europe/Kiev")
    expect(listbox.get_by_role("option").first).to_have_text(
        re.compile(r"^Europe/Kyiv.*also Europe/Kiev")
    )
    page.keyboard.press("Tab")
    expect(zone).to_have_value("Europe/Kyiv")

    # A name that is no zone is kept as typed, and the server's reason shows by the field.
    zone.fill("Mars/Olympus_Mons")
    expect(page.get_by_text("No zone matches")).to_be_visible()
    page.keyboard.press("Tab")
    field = page.locator(".field", has=zone)
    expect(field.get_by_role("alert")).to_contain_text("unknown timezone")

    zone.fill("calcutta")
    page.get_by_role("option", name=re.compile(r"^Asia\/Kolkata")).click()
    expect(zone).to_have_value("Asia/Kolkata")
    page.get_by_role("button", name="Create job").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_text("Asia/Kolkata").first).to_be_visible()
    assert page.page_errors == []
