"""The dashboard's live connection in Chromium: Live, Reconnecting…, Offline since HH:MM,
and back to Live without missing what happened while the connection was down; and a
connection that silently stopped carrying anything is noticed (ping without pong).

The browser reaches `dts up` through a loopback TCP proxy that the test can cut (every
open connection dropped, new ones refused) and restore on the same port: to the browser
that is a server that went away and came back, while the server itself keeps running and
records changes made meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, graphql, sign_in, sign_up
from tests.live import LiveServer, free_port

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken } }"""
CREATE_JOB = """mutation($input: JobInput!) { createJob(input: $input) { id name } }"""


class CuttableProxy:
    """Forwards 127.0.0.1:port to the server until cut; restore listens on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.frozen = False

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and drop every open one (no websocket close frame)."""
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave the
            # port listening until that accept returned.
            self._close(self._listener)
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            self._close(sock)

    restore = start

    def freeze(self) -> None:
        """Keep every connection open but let nothing through: a network that went dark
        without closing anything (a laptop asleep, a dropped Wi-Fi)."""
        self.frozen = True

    def thaw(self) -> None:
        """Let traffic through again; connections that lost bytes meanwhile are dropped."""
        self.frozen = False
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            self._close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                self._close(client)
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.frozen:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    def _close(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(server.port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.cut()


def create_job(server: LiveServer, token: str, name: str) -> None:
    graphql(
        server.url,
        CREATE_JOB,
        {
            "input": {
                "type": "HTTP",
                "name": name,
                "schedule": {"cron": "0 3 * * *", "timezone": "UTC"},
                "http": {"method": "GET", "url": "http://127.0.0.1:9/never"},
                "paused": True,
            }
        },
        token,
    )


def test_badge_follows_the_connection_and_nothing_is_missed_while_offline(
    browser: Any, server: LiveServer, proxy: CuttableProxy
) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 860},
        base_url=proxy.url,
        locale="en-GB",
        timezone_id="Europe/Berlin",
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        # Every subscription the page sends, and every event id it receives.
        sent: list[dict[str, Any]] = []
        received: list[int] = []

        def on_socket(ws: Any) -> None:
            def on_sent(frame: Any) -> None:
                message = json.loads(frame if isinstance(frame, str) else frame["payload"])
                if message.get("type") == "subscribe":
                    sent.append(message["payload"])

            def on_received(frame: Any) -> None:
                message = json.loads(frame if isinstance(frame, str) else frame["payload"])
                data = (message.get("payload") or {}).get("data") or {}
                for value in data.values():
                    if isinstance(value, dict) and value.get("eventId"):
                        received.append(int(value["eventId"]))

            ws.on("framesent", on_sent)
            ws.on("framereceived", on_received)

        page.on("websocket", on_socket)
        sign_in(page, ADMIN_EMAIL)
        badge = page.get_by_test_id("connection-state")
        expect(badge).to_have_text("Live")

        token = graphql(server.url, LOGIN, {"email": ADMIN_EMAIL, "password": PASSWORD})["login"][
            "accessToken"
        ]
        create_job(server, token, "made-while-online")
        expect(page.get_by_role("link", name="made-while-online")).to_be_visible()
        assert received, "the page saw the job's event over the websocket"
        last_seen = max(received)
        page.evaluate("window.__sameDocument = true")

        proxy.cut()
        expect(badge).to_have_text("Reconnecting…", timeout=5_000)
        expect(badge).to_have_text(re.compile(r"^Offline since \d\d:\d\d$"), timeout=20_000)

        # The server carries on: a job is created while the page cannot hear about it.
        create_job(server, token, "made-while-offline")
        expect(page.get_by_role("link", name="made-while-offline")).to_have_count(0)
        subscribed_before = len(sent)

        proxy.restore()
        expect(badge).to_have_text("Live", timeout=20_000)
        expect(page.get_by_role("link", name="made-while-offline")).to_be_visible(timeout=10_000)
        assert page.evaluate("window.__sameDocument") is True, "the page was not reloaded"

        # The job list's subscription resumed after the last event it saw, not from the start.
        resumed = [
            p["variables"]
            for p in sent[subscribed_before:]
            if "jobEvents" in p["query"] and "afterEventId" in (p.get("variables") or {})
        ]
        assert resumed, sent[subscribed_before:]
        assert all(v["afterEventId"] == str(last_seen) for v in resumed), (last_seen, resumed)
    finally:
        context.close()


def test_a_connection_that_goes_silent_is_noticed_and_replaced(
    browser: Any, server: LiveServer, proxy: CuttableProxy
) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, base_url=proxy.url, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, ADMIN_EMAIL)
        badge = page.get_by_test_id("connection-state")
        expect(badge).to_have_text("Live")

        # Nothing is closed, nothing arrives: only the missing pong (ping every 10 s,
        # 5 s to answer) tells the page.
        proxy.freeze()
        expect(badge).to_have_text(re.compile("Reconnecting…|Offline since"), timeout=30_000)

        proxy.thaw()
        expect(badge).to_have_text("Live", timeout=40_000)
    finally:
        context.close()


USERS = """query { users { id email } }"""
SET_DISABLED = """mutation($id: ID!, $disabled: Boolean!) {
  setUserDisabled(userId: $id, disabled: $disabled) { id } }"""
SET_ROLE = """mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id } }"""


def user_id(server: LiveServer, token: str, email: str) -> str:
    users = graphql(server.url, USERS, {}, token)["users"]
    return str(next(u["id"] for u in users if u["email"] == email))


def test_a_disabled_account_is_signed_out_and_told_why(new_page: Any, server: LiveServer) -> None:
    page = new_page()
    sign_up(page, "disabled-soon@example.com")
    expect(page.get_by_test_id("connection-state")).to_have_text("Live")
    token = graphql(server.url, LOGIN, {"email": ADMIN_EMAIL, "password": PASSWORD})["login"][
        "accessToken"
    ]
    member = user_id(server, token, "disabled-soon@example.com")

    # The server closes the member's socket with 4403; the dashboard signs out and says why.
    graphql(server.url, SET_DISABLED, {"id": member, "disabled": True}, token)
    page.wait_for_url("**/login*", timeout=15_000)
    expect(page.get_by_text(re.compile(r"^Signed out: .*disabled", re.I))).to_be_visible()


def test_a_changed_role_reconnects_and_the_page_follows_it(
    new_page: Any, server: LiveServer
) -> None:
    page = new_page()
    sign_up(page, "demoted-soon@example.com")
    badge = page.get_by_test_id("connection-state")
    expect(badge).to_have_text("Live")
    expect(page.get_by_role("link", name="New job")).to_be_visible()
    token = graphql(server.url, LOGIN, {"email": ADMIN_EMAIL, "password": PASSWORD})["login"][
        "accessToken"
    ]
    member = user_id(server, token, "demoted-soon@example.com")

    # 4403 "your role changed": not a sign-out; the page reconnects as a viewer.
    graphql(server.url, SET_ROLE, {"id": member, "role": "VIEWER"}, token)
    expect(page.get_by_role("link", name="New job")).to_have_count(0, timeout=15_000)
    expect(badge).to_have_text("Live", timeout=20_000)
    assert "/login" not in page.url
    assert page.page_errors == []
