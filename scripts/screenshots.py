"""Screenshots of every dashboard page at 1280 px and 390 px, light and dark, for docs/.

Starts its own `dts up` on loopback (a fresh SQLite file in a temp dir, a free port),
seeds it with a few jobs and their history through the GraphQL API, then drives Debian's
Chromium with Playwright and writes `PAGE-WIDTH-THEME.png` into docs/screenshots/ (or
--out). Pages the dashboard does not have (a 'Page not found' answer) are skipped and
named. Run it with `make screenshots`; the dashboard must be built (`make web`).

    python scripts/screenshots.py [--out DIR] [--only jobs,run] [--width 390] [--theme dark]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("DTS_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
WIDTHS = (1280, 390)
Theme = Literal["light", "dark"]
THEMES: tuple[Theme, ...] = ("light", "dark")
ADMIN = "admin@example.com"
MEMBER = "ops@example.com"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway local account
# A page taller than this is cut here: the docs show a page's top, not a 30-screen log.
MAX_HEIGHT = 3000


# ---- a target for the seeded HTTP jobs ----------------------------------------------------


@contextmanager
def target_server() -> Iterator[str]:
    """An HTTP server on loopback: 200 with JSON, 503 for paths with 'fail', every third
    'flaky' request failing, so the seeded history has both."""
    count = {"flaky": 0}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            failing = "fail" in self.path
            if "flaky" in self.path:
                count["flaky"] += 1
                failing = count["flaky"] % 3 == 0
            payload = json.dumps({"ok": not failing, "path": self.path}).encode()
            self.send_response(503 if failing else 200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dts_up(folder: Path) -> Iterator[str]:
    """`dts up` on a fresh SQLite file; yields its URL once /api/health answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DTS_")}
    env.pop("DATABASE_URL", None)
    env.update(
        DTS_DATABASE_URL=f"sqlite:///{folder / 'dts.db'}",
        DTS_JWT_SECRET="screenshots-" + "x" * 32,
        DTS_APP_URL=f"http://127.0.0.1:{port}",
        DTS_LOG_LEVEL="warning",
        DTS_SCRIPT_ROOT=str(REPO),
        DTS_HTTP_ALLOW_PRIVATE="true",
        DTS_POLL_INTERVAL="0.2",
    )
    if not os.environ.get("DTS_WEB_DIST"):
        env["DTS_WEB_DIST"] = str(REPO / "web" / "dist")
    log = (folder / "dts.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "up", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"dts up exited: {(folder / 'dts.log').read_text()}")
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("dts up did not become healthy within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ---- seeding ----------------------------------------------------------------------------------


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.token: str | None = None

    def __call__(self, query: str, **variables: Any) -> Any:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        body = httpx.post(
            self.url + "/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=30,
        ).json()
        if body.get("errors"):
            raise SystemExit(f"seeding failed: {body['errors']}")
        return body["data"]


REGISTER = """mutation($email: String!, $password: String!) {
  register(email: $email, password: $password) { accessToken } }"""
CREATE_JOB = "mutation($input: JobInput!) { createJob(input: $input) { id } }"
TRIGGER = "mutation($id: ID!) { triggerJob(id: $id) { id } }"
STATUS = "query($id: ID!) { run(id: $id) { status } }"
PAUSE = "mutation($id: ID!) { pauseJob(id: $id) { id } }"
CREATE_TOKEN = "mutation($name: String!) { createApiToken(name: $name, scope: READ) { token } }"  # noqa: S105
CREATE_CHANNEL = (
    "mutation($input: AlertChannelInput!) { createAlertChannel(input: $input) { channel { id } } }"
)
SET_DEFAULT_RULES = (
    "mutation($rules: AlertRulesInput!) { setDefaultAlertRules(rules: $rules) { onFailure } }"
)
CREATE_MONITOR = "mutation($input: MonitorInput!) { createMonitor(input: $input) { id pingUrl } }"
PAUSE_MONITOR = "mutation($id: ID!) { pauseMonitor(id: $id) { id } }"


@dataclass
class Seeded:
    job_id: str  # a job with history (job detail, edit)
    run_id: str  # a finished run with a log (run detail)
    dst_job_id: str  # a job whose preview crosses the spring DST change
    monitor_id: str = ""  # a heartbeat monitor with pings and a log (monitor detail)


def seed(api: Api, target: str) -> Seeded:
    api.token = api(REGISTER, email=ADMIN, password=PASSWORD)["register"]["accessToken"]
    Api(api.url)(REGISTER, email=MEMBER, password=PASSWORD)
    api(CREATE_TOKEN, name="grafana-read")
    api(CREATE_TOKEN, name="ci-deploys")
    seed_alerting(api, target)

    def job(name: str, cron: str, zone: str, runs: int = 0, **spec: Any) -> str:
        kind = "SCRIPT" if "script" in spec else "HTTP"
        spec.setdefault("http", {"method": "POST", "url": f"{target}/hooks/{name}"})
        if kind == "SCRIPT":
            spec.pop("http")
        job_id = api(
            CREATE_JOB,
            input={
                "type": kind,
                "name": name,
                "schedule": {"cron": cron, "timezone": zone},
                "retry": {"maxAttempts": 1},
                **spec,
            },
        )["createJob"]["id"]
        for _ in range(runs):
            run_id = api(TRIGGER, id=job_id)["triggerJob"]["id"]
            wait_finished(api, run_id)
        return str(job_id)

    flaky = {"method": "POST", "url": f"{target}/hooks/billing?flaky=1"}
    billing = job("billing-sync", "*/15 * * * *", "UTC", 9, http=flaky)
    job("partner-feed", "0 */2 * * *", "Asia/Tokyo", 2, http={"url": f"{target}/fail"})
    job("weekly-digest", "0 8 * * 1", "America/New_York", 1)
    hello = {"command": "python3", "args": ["scripts/hello.py"]}
    backup = job("nightly-backup", "30 2 * * *", "Europe/Berlin", 1, script=hello)
    job(
        "quarterly-compliance-report-export-to-archive-bucket",
        "0 6 1 1,4,7,10 *",
        "America/Los_Angeles",
        1,
    )
    paused = job("cache-warmup", "*/5 9-17 * * 1-5", "Europe/London")
    api(PAUSE, id=paused)
    run_id = api(TRIGGER, id=backup)["triggerJob"]["id"]
    wait_finished(api, run_id)
    monitor = seed_monitors(api)
    return Seeded(job_id=billing, run_id=str(run_id), dst_job_id=backup, monitor_id=monitor)


def seed_monitors(api: Api) -> str:
    """Heartbeat monitors in different states, pinged through their URLs as a cron line
    would: up (start, then success with a log), down (exit status 2), running, new and
    paused. Returns the id of the one that is up."""

    def monitor(**spec: Any) -> tuple[str, str]:
        made = api(CREATE_MONITOR, input=spec)["createMonitor"]
        # The ping URL's base is DTS_APP_URL, which is this server.
        return str(made["id"]), str(made["pingUrl"])

    def ping(url: str, body: bytes = b"") -> None:
        answer = httpx.post(url, content=body, timeout=10)
        if answer.status_code != 200:
            raise SystemExit(f"seeding failed: ping {answer.status_code} {answer.text}")

    backup, backup_url = monitor(
        name="db-2 nightly backup",
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        graceSeconds=900,
        maxDurationSeconds=3600,
    )
    ping(backup_url + "/start")
    ping(backup_url + "/0", b"pg_dump: 12.4 GB written to s3://backups/db-2/\nok\n")
    _, certbot_url = monitor(name="certbot renew", cron="0 */12 * * *", timezone="UTC")
    ping(certbot_url + "/2", b"Challenge failed for domain example.com\n")
    _, etl_url = monitor(name="warehouse ETL", cron="0 * * * *", timezone="America/New_York")
    ping(etl_url + "/start")
    monitor(name="queue drain", periodSeconds=3600, graceSeconds=600)
    paused, _ = monitor(name="legacy crontab on web-1", cron="*/10 * * * *", timezone="UTC")
    api(PAUSE_MONITOR, id=paused)
    return backup


def seed_alerting(api: Api, target: str) -> None:
    """Channels (the webhooks post to the target) and default rules, set before the jobs
    run, so the failing ones open incidents (Notifications and Incidents pages)."""
    channels = [
        {"name": "ops webhook", "kind": "WEBHOOK", "url": f"{target}/alerts/hook?key=x"},
        {"name": "#ops-alerts", "kind": "SLACK", "url": f"{target}/alerts/slack"},
        {"name": "on-call", "kind": "EMAIL", "address": "oncall@example.com"},
    ]
    ids = [api(CREATE_CHANNEL, input=c)["createAlertChannel"]["channel"]["id"] for c in channels]
    api(SET_DEFAULT_RULES, rules={"channelIds": ids[:2], "remindEveryHours": 12})


def wait_finished(api: Api, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if api(STATUS, id=run_id)["run"]["status"] not in ("QUEUED", "RUNNING"):
            return
        time.sleep(0.1)
    raise SystemExit(f"run {run_id} did not finish within 30 s")


def spring_forward(today: date) -> date:
    """The next last Sunday of March: when Europe/Berlin skips 02:00-03:00."""
    year = today.year
    while True:
        day = date(year, 3, 31)
        day -= timedelta(days=(day.weekday() + 1) % 7)
        if day > today:
            return day
        year += 1


# ---- pages ---------------------------------------------------------------------------------------


@dataclass
class Shot:
    name: str
    path: str
    title: str  # in the docs' table
    signed_in: bool = True
    ready: Callable[[Any], None] | None = None  # waits until the page shows its content


def pages(seeded: Seeded) -> list[Shot]:
    from playwright.sync_api import expect

    def see(selector: str) -> Callable[[Any], None]:
        return lambda page: expect(page.locator(selector).first).to_be_visible()

    def inspector_before_spring(page: Any) -> None:
        expect(page.get_by_test_id("schedule-description")).to_have_text("At 02:30 every day")
        before = spring_forward(date.today()) - timedelta(days=3)
        page.get_by_label("Preview from date").fill(before.isoformat())
        expect(page.get_by_test_id("dst-note").first).to_be_visible()

    def new_job(page: Any) -> None:
        expect(page.get_by_test_id("schedule-description")).not_to_have_text("…")

    def run_log(page: Any) -> None:
        expect(page.get_by_test_id("run-log")).to_contain_text("Hello from DTS")

    return [
        Shot("sign-in", "/login", "Sign in", signed_in=False, ready=see("form")),
        Shot("sign-up", "/signup", "Sign up", signed_in=False, ready=see("form")),
        Shot("forgot-password", "/forgot", "Forgot password", signed_in=False, ready=see("form")),
        Shot(
            "reset-password",
            "/reset?token=example",
            "Reset password",
            signed_in=False,
            ready=see("form"),
        ),
        Shot("jobs", "/jobs", "Jobs", ready=see("tr[data-job-id]")),
        Shot("job-detail", f"/jobs/{seeded.job_id}", "A job", ready=see("tr[data-run-id]")),
        Shot("job-new", "/jobs/new", "New job", ready=new_job),
        Shot(
            "job-edit-dst",
            f"/jobs/{seeded.dst_job_id}/edit",
            "Edit job: the inspector across the spring DST change",
            ready=inspector_before_spring,
        ),
        Shot("run-detail", f"/runs/{seeded.run_id}", "A run and its log", ready=run_log),
        Shot("runs", "/runs", "Runs", ready=see("table[aria-label=Runs] tbody tr")),
        Shot(
            "inspector",
            "/inspector",
            "Inspector",
            ready=see("[aria-label='Schedule inspector'] tbody tr"),
        ),
        Shot("incidents", "/incidents", "Incidents", ready=see("tr[data-incident]")),
        Shot(
            "notifications",
            "/notifications",
            "Notifications: channels and default rules",
            ready=see("tr[data-channel]"),
        ),
        Shot("monitors", "/monitors", "Monitors", ready=see("tr[data-monitor-id] [data-state=UP]")),
        Shot(
            "monitor-detail",
            f"/monitors/{seeded.monitor_id}",
            "A monitor: ping URL, next expected ping in two zones, pings",
            ready=see("table[aria-label=Pings] tbody tr"),
        ),
        Shot("monitor-new", "/monitors/new", "New monitor", ready=new_job),
        Shot("workers", "/workers", "Workers", ready=see("[data-testid=workers-alive]")),
        Shot("api-tokens", "/tokens", "API tokens", ready=see("main table")),
        Shot("account", "/account", "Account", ready=see("main .card")),
        Shot("admin-users", "/admin", "Admin: users", ready=see("table[aria-label=Users]")),
        Shot("admin-tokens", "/admin/tokens", "Admin: API tokens", ready=see("main table")),
        Shot(
            "admin-audit",
            "/admin/audit",
            "Admin: audit log",
            ready=see("table[aria-label='Audit log']"),
        ),
    ]


# ---- the browser --------------------------------------------------------------------------------


def take(
    url: str, seeded: Seeded, out: Path, only: set[str], widths: list[int], themes: list[Theme]
) -> list[str]:
    from playwright.sync_api import sync_playwright

    written: list[str] = []
    skipped: set[str] = set()
    shots = [s for s in pages(seeded) if not only or s.name in only]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for theme in themes:
            for width in widths:
                window_height = 900 if width > 600 else 844

                def context(
                    width: int = width, height: int = window_height, theme: Theme = theme
                ) -> Any:
                    made = browser.new_context(
                        viewport={"width": width, "height": height},
                        device_scale_factor=1,
                        color_scheme=theme,
                        timezone_id="America/New_York",
                        locale="en-GB",
                        base_url=url,
                    )
                    made.set_default_timeout(20_000)
                    return made

                # Separate contexts: a signed-in session would redirect /login to /jobs.
                visitor, user = context(), context()
                signed_in = user.new_page()
                sign_in(signed_in)
                signed_out = visitor.new_page()
                for shot in shots:
                    if shot.name in skipped:
                        continue
                    page = signed_in if shot.signed_in else signed_out
                    page.goto(shot.path)
                    if page.get_by_role("heading", name="Page not found").count():
                        skipped.add(shot.name)
                        continue
                    page.wait_for_load_state("networkidle")
                    if page.get_by_role("heading", name="Page not found").count():
                        skipped.add(shot.name)
                        continue
                    if shot.ready is not None:
                        try:
                            shot.ready(page)
                        except AssertionError as error:
                            first_line = str(error).splitlines()[0]
                            problem = f"{shot.name} ({shot.path}) did not load: {first_line}"
                            raise SystemExit(problem) from None
                    page.evaluate("document.activeElement && document.activeElement.blur()")
                    page.evaluate("window.scrollTo(0, 0)")
                    path = out / f"{shot.name}-{width}-{theme}.png"
                    # The window as tall as the page (up to MAX_HEIGHT), rather than a
                    # full-page capture: sticky bars then sit where a reader expects them.
                    height = page.evaluate("document.documentElement.scrollHeight")
                    page.set_viewport_size({"width": width, "height": min(height, MAX_HEIGHT)})
                    page.wait_for_timeout(150)
                    page.evaluate("window.scrollTo(0, 0)")
                    page.screenshot(
                        path=str(path),
                        animations="disabled",
                        caret="hide",
                        style=".toasts { display: none; }",
                    )
                    page.set_viewport_size({"width": width, "height": window_height})
                    written.append(path.name)
                visitor.close()
                user.close()
        browser.close()
    for name in sorted(skipped):
        print(f"skipped {name}: the dashboard has no such page yet")
    return written


DOCS = REPO / "docs" / "dashboard.md"
BEGIN, END = "<!-- screenshots:begin -->", "<!-- screenshots:end -->"


def update_docs(out: Path, shots: list[Shot]) -> None:
    """Rewrite the table of screenshots in docs/dashboard.md for the pages now in `out`."""
    text = DOCS.read_text()
    if BEGIN not in text or END not in text:
        return
    rows = ["| page | screenshots |", "|---|---|"]
    for shot in shots:
        files = [f"{shot.name}-{w}-{t}.png" for w in WIDTHS for t in THEMES]
        links = [
            f"[{name.split('-')[-2]} {name.split('-')[-1][:-4]}](screenshots/{name})"
            for name in files
            if (out / name).is_file()
        ]
        if links:
            rows.append(f"| {shot.title} | {' · '.join(links)} |")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOCS.write_text(head + BEGIN + "\n" + "\n".join(rows) + "\n" + END + tail)


def sign_in(page: Any) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/jobs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--width", type=int, action="append", help="1280 and 390 by default")
    parser.add_argument("--theme", choices=THEMES, action="append", help="both by default")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"Chromium not found at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 1
    dist = Path(os.environ.get("DTS_WEB_DIST") or REPO / "web" / "dist")
    if not (dist / "index.html").is_file():
        print(f"{dist} has no built dashboard: run `make web` first", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    with tempfile.TemporaryDirectory() as tmp, target_server() as target, dts_up(Path(tmp)) as url:
        seeded = seed(Api(url), target)
        written = take(
            url, seeded, args.out, only, args.width or list(WIDTHS), args.theme or list(THEMES)
        )
    print(f"wrote {len(written)} screenshots to {args.out}")
    if args.out.resolve() == (REPO / "docs" / "screenshots").resolve():
        update_docs(args.out, pages(Seeded("", "", "")))
        print(f"updated the table of screenshots in {DOCS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
