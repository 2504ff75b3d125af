"""With sign-up closed (DTS_ALLOW_SIGNUP=false) the dashboard offers no sign-up."""

from __future__ import annotations

from typing import Any

from tests.live import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

SERVER_ENV = {"DTS_ALLOW_SIGNUP": "false"}


def test_sign_up_is_hidden_when_the_server_refuses_it(new_page: Any, server: LiveServer) -> None:
    page = new_page()
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="Create an account")).to_have_count(0)
    page.goto("/signup")
    expect(page.get_by_role("heading", name="Sign-up is closed")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_count(0)
    assert page.page_errors == []
