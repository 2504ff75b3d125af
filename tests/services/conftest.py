"""Fixtures for the account services: users without paying argon2 each time, a real SMTP
server on loopback (aiosmtpd), and an AuthService on the injected clock."""

from __future__ import annotations

import email
import email.policy
import functools
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.config import Settings
from app.db.engine import Database
from app.db.models import User
from app.services.auth import AuthService
from app.services.passwords import hash_password
from tests.conftest import FakeClock

PASSWORD = "correct horse battery"
APP_URL = "https://dts.example.com"


@functools.cache
def password_hash() -> str:
    """One real argon2 hash of PASSWORD, shared by tests whose subject is not hashing."""
    return hash_password(PASSWORD)


async def add_user(
    db: Database, address: str, *, role: str = "member", disabled: bool = False
) -> User:
    async with db.transaction() as session:
        user = User(email=address, password_hash=password_hash(), role=role, disabled=disabled)
        session.add(user)
    return user


class Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.recipients.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int]) -> Inbox:
    smtp_server[0].clear()
    return smtp_server[0]


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: tuple[Inbox, int]) -> Settings:
    return settings.model_copy(
        update={"smtp_url": f"smtp://127.0.0.1:{smtp_server[1]}", "app_url": APP_URL}
    )


@pytest.fixture
def plain_settings() -> Settings:
    """Settings for tests that touch no database (they run once, not once per engine)."""
    return Settings(env="test", jwt_secret="test-secret-" + "x" * 32, secret_key=None)


@pytest.fixture
def auth(db: Database, settings: Settings, clock: FakeClock) -> AuthService:
    return AuthService(db, settings, clock=clock.now)
