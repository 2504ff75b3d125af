"""Browser end-to-end tests: Debian's Chromium, driven by Playwright, against a live `dts up`.

Each test module gets its own `dts up` on a fresh SQLite file, serving the built dashboard
(built here first when `web/dist` is missing). No browser is downloaded: Playwright
launches /usr/bin/chromium. Without it (or without Playwright, or npm to build the
dashboard) the tests are skipped with the reason, except under CI=true, where that fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import is_ci
from tests.live import REPO, LiveServer, dts_env

CHROMIUM = Path(os.environ.get("DTS_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEB = REPO / "web"
DIST = WEB / "dist"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery staple"


def unavailable(reason: str) -> None:
    """Skip with the reason; in CI, where the browser tests must run, fail instead."""
    if is_ci():
        pytest.fail(f"CI=true and {reason}: the browser tests must not be skipped in CI")
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


# ---- the dashboard build ----------------------------------------------------------------


# What `npm run build` writes: the dashboard and the GraphQL playground (served at /graphql).
BUILT_PAGES = ("index.html", "graphiql.html")


@pytest.fixture(scope="session")
def dashboard_dist() -> Path:
    """web/dist, built now (as `make web` does) if a page is missing: a dist built before
    the playground existed has index.html but no graphiql.html."""
    if all((DIST / page).is_file() for page in BUILT_PAGES):
        return DIST
    npm = shutil.which("npm")
    if npm is None:
        unavailable("web/dist is missing and npm is not installed to build the dashboard")
    assert npm is not None
    # npm ci when node_modules is missing or older than the lock file (a new dependency,
    # such as GraphiQL, would otherwise fail the build).
    installed = WEB / "node_modules" / ".package-lock.json"
    lock = WEB / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    return DIST


# ---- the server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dashboard_dist: Path
) -> Iterator[LiveServer]:
    """A live `dts up` on a fresh SQLite file, with an admin account already created.

    A test module may set `SERVER_ENV = {...}` for more settings.
    """
    folder = tmp_path_factory.mktemp("e2e")
    env = dts_env(
        f"sqlite:///{folder / 'dts.db'}",
        DTS_HTTP_ALLOW_PRIVATE="true",
        DTS_WEB_DIST=str(dashboard_dist),
        DTS_POLL_INTERVAL="0.2",
        **getattr(request.module, "SERVER_ENV", {}),
    )
    live = LiveServer("up", env)
    try:
        live.wait_healthy()
        if env.get("DTS_ALLOW_SIGNUP", "true") == "true":
            graphql(live.url, REGISTER, {"email": ADMIN_EMAIL, "password": PASSWORD})
        yield live
    finally:
        live.stop()


REGISTER = """mutation($email: String!, $password: String!) {
  register(email: $email, password: $password) { accessToken user { id role } } }"""


def graphql(url: str, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        url + "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


# ---- a target for HTTP jobs ------------------------------------------------------------------


@dataclass
class Target:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """An HTTP server on loopback that answers 200 with JSON and records what it got."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            seen.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            flaky = [r for r in seen if "flaky" in r["path"]]
            failing = "fail" in self.path or ("flaky" in self.path and len(flaky) % 3 == 0)
            payload = json.dumps({"ok": not failing, "received": len(seen)}).encode()
            self.send_response(503 if failing else 200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Target(url=f"http://127.0.0.1:{httpd.server_address[1]}/hooks/nightly", requests=seen)
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module: Playwright's sync API holds an event loop while it runs,
    so it must be closed before the async tests of other modules run."""
    if not CHROMIUM.exists():
        unavailable(
            f"Chromium not found at {CHROMIUM}; install Debian's chromium "
            "(apt-get install chromium) to run the browser tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed; pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser: Any, server: LiveServer) -> Iterator[Any]:
    """Make pages in fresh browser contexts (separate sessions) at a laptop's size."""
    contexts: list[Any] = []

    def make(
        *,
        width: int = 1280,
        height: int = 860,
        color_scheme: str = "light",
        timezone_id: str = "America/New_York",
    ) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,
            timezone_id=timezone_id,
            locale="en-GB",
            base_url=server.url,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.page_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(target: Any, name: str) -> Path:
    """Save a page (or one element of it) to artifacts/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # Toasts come and go; the screenshots show the pages.
    target.screenshot(path=str(path), style=".toasts { display: none; }")
    return path


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/jobs")


def sign_up(page: Any, email: str, password: str = PASSWORD) -> None:
    page.goto("/signup")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/jobs")
