"""The GraphQL playground at /graphql: GraphiQL served by dts itself, usable offline.

Strawberry's stock page loads React and GraphiQL from a public CDN, so an air-gapped
install showed "Loading…" forever. Here Chromium may reach nothing but 127.0.0.1, and the
playground still loads, runs a query with the dashboard's session and streams a
subscription's events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    PASSWORD,
    REGISTER,
    Target,
    graphql,
    screenshot,
    sign_in,
)
from tests.live import LiveServer, dts_env

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

LOOPBACK = "127.0.0.1"
OTHER_EMAIL = "grace@example.com"
# Hosts Strawberry's stock GraphiQL page (and GraphiQL's own examples) load code from.
CDN_HOSTS = ("unpkg.com", "cdn.jsdelivr.net", "esm.sh", "cdnjs.cloudflare.com", "fonts.googleapis")
LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken } }"""
CREATE_JOB = """mutation($input: JobInput!) { createJob(input: $input) { id name } }"""
TRIGGER = """mutation($id: ID!) { triggerJob(id: $id) { id } }"""
LIVE_MS = 30_000


class Outside:
    """Every request the browser tried to send beyond loopback (each one was refused)."""

    def __init__(self) -> None:
        self.attempted: list[str] = []

    def guard(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOOPBACK:
            route.continue_()
        else:
            self.attempted.append(url)
            route.abort("internetdisconnected")

    def watch(self, url: str) -> None:
        network = url.startswith(("http:", "https:", "ws:", "wss:"))
        if network and urlsplit(url).hostname != LOOPBACK:
            self.attempted.append(url)


def offline_page(new_page: Any) -> tuple[Any, Outside, list[str]]:
    """A page in a context that can reach only 127.0.0.1; its websockets' URLs."""
    page = new_page()
    outside = Outside()
    sockets: list[str] = []
    page.context.route("**/*", outside.guard)
    page.context.on("request", lambda request: outside.watch(request.url))
    page.on("websocket", lambda ws: (sockets.append(ws.url), outside.watch(ws.url)))
    return page, outside, sockets


def set_operation(page: Any, name: str, text: str) -> None:
    """Replace the operation in GraphiQL's editor (Monaco) with `text`, named `name`."""
    editor = page.locator(".graphiql-query-editor .monaco-editor").first
    editor.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.press("Delete")
    # One input event, as a paste: Monaco does not auto-close brackets in it (one line
    # only: after a newline it would).
    page.keyboard.insert_text(text)
    # GraphiQL parses the editor 100 ms after the last change; until then Run would send
    # the previous operation's name. Its tab takes the new name once it has parsed.
    expect(page.get_by_role("tab", selected=True)).to_contain_text(name)


def response_text(page: Any) -> str:
    return str(page.locator(".graphiql-response").inner_text()).replace("\xa0", " ")


def test_playground_loads_offline_runs_a_query_and_streams_a_subscription(
    new_page: Any, server: LiveServer, target: Target
) -> None:
    page, outside, sockets = offline_page(new_page)
    sign_in(page, ADMIN_EMAIL)

    page.goto("/graphql")
    page.wait_for_load_state("networkidle")
    assert outside.attempted == [], f"requests beyond loopback: {outside.attempted}"
    expect(page).to_have_title("dts GraphQL playground")
    expect(page.get_by_role("status")).to_contain_text(f"Signed in as {ADMIN_EMAIL}")
    expect(page.locator(".graphiql-query-editor .monaco-editor").first).to_be_visible()

    # A query, over HTTP with the dashboard's token: `me` is the signed-in user.
    set_operation(page, "WhoAmI", "query WhoAmI { me { email role } }")
    page.get_by_role("button", name=re.compile("Execute query")).click()
    expect(page.locator(".graphiql-response")).to_contain_text(ADMIN_EMAIL, timeout=LIVE_MS)
    assert '"role": "ADMIN"' in response_text(page)

    # An Authorization header typed in the Headers tab is sent instead of the session's
    # (here another user's token), and GraphiQL's saved history does not keep it.
    other = graphql(server.url, REGISTER, {"email": OTHER_EMAIL, "password": PASSWORD})
    other_token = other["register"]["accessToken"]
    page.get_by_role("button", name="Headers", exact=True).click()
    headers = page.locator("section.graphiql-editor-tool .graphiql-editor:not(.hidden)")
    headers.locator(".monaco-editor").click()
    page.keyboard.insert_text(f'{{"Authorization": "Bearer {other_token}"}}')
    set_operation(page, "WhoElse", "query WhoElse { me { email } }")
    page.get_by_role("button", name=re.compile("Execute query")).click()
    expect(page.locator(".graphiql-response")).to_contain_text(OTHER_EMAIL, timeout=LIVE_MS)
    saved = page.evaluate("() => JSON.stringify(localStorage)")
    assert "WhoElse" in saved  # the history was written...
    assert other_token not in saved  # ...without the token

    # A subscription over the dashboard's websocket, which authenticates with the session
    # (not the Headers tab): a run of the admin's job triggered through the API arrives.
    token = graphql(server.url, LOGIN, {"email": ADMIN_EMAIL, "password": PASSWORD})["login"][
        "accessToken"
    ]
    job = graphql(
        server.url,
        CREATE_JOB,
        {
            "input": {
                "type": "HTTP",
                "name": "playground-ping",
                "schedule": {"cron": "0 0 1 1 *", "timezone": "UTC"},
                "http": {"method": "POST", "url": target.url},
                "retry": {"maxAttempts": 1},
            }
        },
        token,
    )["createJob"]
    # Subscribing from the feed's position now: the run is seen even if it is triggered
    # before the server has registered the subscription.
    position = graphql(server.url, "{ feedPosition }", {}, token)["feedPosition"]
    set_operation(
        page,
        "Runs",
        f'subscription Runs {{ runEvents(jobId: "{job["id"]}", afterEventId: "{position}") '
        "{ kind runId status } }",
    )
    page.get_by_role("button", name=re.compile("Execute query")).click()
    run = graphql(server.url, TRIGGER, {"id": job["id"]}, token)["triggerJob"]
    expect(page.locator(".graphiql-response")).to_contain_text(run["id"], timeout=LIVE_MS)
    expect(page.locator(".graphiql-response")).to_contain_text("SUCCEEDED", timeout=LIVE_MS)
    screenshot(page, "graphiql-subscription")

    assert sockets, "the playground opened no websocket for the subscription"
    assert all(urlsplit(url).hostname == LOOPBACK for url in sockets), sockets
    # graphql-ws may open a second socket (a retry when the machine is slow): every one
    # goes to this server's /graphql.
    assert {urlsplit(url).path for url in sockets} == {"/graphql"}, sockets
    assert outside.attempted == [], f"requests beyond loopback: {outside.attempted}"
    assert page.page_errors == []


def test_playground_signed_out_on_a_phone_in_dark(new_page: Any, server: LiveServer) -> None:
    page, outside, _ = offline_page(new_page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    page.goto("/graphql")
    bar = page.get_by_role("status")
    expect(bar).to_contain_text("Not signed in")
    expect(bar.get_by_role("link", name="Sign in")).to_have_attribute("href", "/login")
    expect(page.locator(".graphiql-query-editor .monaco-editor").first).to_be_visible()
    # Anonymous operations still run.
    set_operation(page, "Open", "query Open { signupOpen }")
    page.get_by_role("button", name=re.compile("Execute query")).click()
    expect(page.locator(".graphiql-response")).to_contain_text('"signupOpen": true')
    # Stacked below the editors, the response is readable: as wide as the screen allows.
    response = page.locator(".graphiql-response").bounding_box()
    assert response is not None and response["width"] > 250, response
    screenshot(page, "graphiql-phone-dark")
    assert outside.attempted == [], f"requests beyond loopback: {outside.attempted}"
    assert page.page_errors == []


def test_built_playground_names_no_cdn(dashboard_dist: Path) -> None:
    """Nothing in the build points the browser at a CDN (the stock page loaded from unpkg)."""
    page = (dashboard_dist / "graphiql.html").read_text()
    assert re.search(r"""(src|href)=["']https?:""", page) is None, page
    for file in [dashboard_dist / "graphiql.html", *(dashboard_dist / "assets").glob("*.[jc]s*")]:
        text = file.read_text(errors="replace")
        found = [host for host in CDN_HOSTS if host in text]
        assert not found, f"{file.name} mentions {found}"


# ---- without a built dashboard ----------------------------------------------------------------


@pytest.fixture(scope="module")
def unbuilt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("unbuilt")
    (folder / "dist").mkdir()
    env = dts_env(f"sqlite:///{folder / 'dts.db'}", DTS_WEB_DIST=str(folder / "dist"))
    live = LiveServer("up", env)
    try:
        live.wait_healthy()
        yield live
    finally:
        live.stop()


def test_without_a_build_the_playground_says_how_to_build_it(unbuilt_server: LiveServer) -> None:
    page = httpx.get(unbuilt_server.url + "/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "the dashboard is not built" in page.text.lower()
    assert "make web" in page.text
    assert "https://" not in page.text and "http://" not in page.text
    # The API itself still answers at the same URL.
    answer = httpx.post(unbuilt_server.url + "/graphql", json={"query": "{ signupOpen }"})
    assert answer.json() == {"data": {"signupOpen": True}}
