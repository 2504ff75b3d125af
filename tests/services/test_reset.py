"""Password reset by e-mail, end to end through a real SMTP server (aiosmtpd on loopback),
and the mailer's configuration and failure handling."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.config import ConfigError, Settings
from app.db.engine import Database
from app.db.models import AuditEntry, RateLimit, ResetToken
from app.domain.errors import RateLimited, Unauthenticated, ValidationError
from app.services import throttle
from app.services.auth import AuthService
from app.services.mail import Mailer, parse_smtp_url
from tests.conftest import FakeClock
from tests.services.conftest import APP_URL, PASSWORD, Inbox, add_user, free_port

NEW_PASSWORD = "a fresh start 2026"


def reset_token_from(inbox: Inbox) -> str:
    assert len(inbox.messages) == 1
    body = inbox.messages[0].get_content()
    link = re.search(r"https?://\S+", body)
    assert link is not None, body
    parts = urlsplit(link.group(0))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{APP_URL}/reset"
    return parse_qs(parts.query)["token"][0]


@pytest.fixture
def mail_auth(db: Database, mail_settings: Settings, clock: FakeClock) -> AuthService:
    return AuthService(db, mail_settings, clock=clock.now)


async def test_reset_link_arrives_by_email_and_works_once(
    db: Database, mail_auth: AuthService, inbox: Inbox
) -> None:
    user = await add_user(db, "ada@example.com")
    old_session = await mail_auth.login("ada@example.com", PASSWORD)

    assert await mail_auth.request_password_reset("Ada@Example.com", ip="10.0.0.1") is None
    await mail_auth.mailer.drain()
    message = inbox.messages[0]
    assert inbox.recipients == [["ada@example.com"]]
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Reset your dts password"
    token = reset_token_from(inbox)
    assert len(token) >= 43  # 32 random bytes
    async with db.session() as session:
        stored = (await session.scalars(select(ResetToken))).one()
    assert token not in repr(vars(stored))

    await mail_auth.reset_password(token, NEW_PASSWORD)
    with pytest.raises(ValidationError, match="already been used") as error:
        await mail_auth.reset_password(token, "yet another password")
    assert error.value.field == "token"

    with pytest.raises(Unauthenticated):
        await mail_auth.refresh(old_session.refresh_token)  # old sessions are signed out
    with pytest.raises(Unauthenticated):
        await mail_auth.login("ada@example.com", PASSWORD)
    assert (await mail_auth.login("ada@example.com", NEW_PASSWORD)).user.id == user.id
    async with db.session() as session:
        audit = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(e.action, e.target_id) for e in audit] == [
        ("user.password_reset_requested", str(user.id)),
        ("user.password_reset", str(user.id)),
    ]
    assert audit[1].detail == {"sessions_revoked": 1}


async def test_a_common_password_is_refused_and_the_link_still_works(
    db: Database, mail_auth: AuthService, inbox: Inbox
) -> None:
    await add_user(db, "ada@example.com")
    await mail_auth.request_password_reset("ada@example.com")
    await mail_auth.mailer.drain()
    token = reset_token_from(inbox)
    with pytest.raises(ValidationError, match="one of the most common passwords") as error:
        await mail_auth.reset_password(token, "Sunshine1")
    assert error.value.field == "password"
    await mail_auth.reset_password(token, NEW_PASSWORD)  # not used up by the refusal
    await mail_auth.login("ada@example.com", NEW_PASSWORD)


async def test_an_expired_reset_link_fails(
    db: Database, mail_auth: AuthService, inbox: Inbox, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    await mail_auth.request_password_reset("ada@example.com")
    await mail_auth.mailer.drain()
    token = reset_token_from(inbox)
    clock.advance(minutes=31)
    with pytest.raises(ValidationError, match="expired"):
        await mail_auth.reset_password(token, NEW_PASSWORD)
    with pytest.raises(ValidationError, match="not valid"):
        await mail_auth.reset_password("made-up-token", NEW_PASSWORD)
    with pytest.raises(ValidationError, match="at least 8"):
        await mail_auth.reset_password(token, "short")
    await mail_auth.login("ada@example.com", PASSWORD)  # unchanged


async def test_unknown_or_disabled_accounts_get_the_same_answer_and_no_email(
    db: Database, mail_auth: AuthService, inbox: Inbox
) -> None:
    await add_user(db, "gone@example.com", disabled=True)
    assert await mail_auth.request_password_reset("nobody@example.com") is None
    assert await mail_auth.request_password_reset("gone@example.com") is None
    await mail_auth.mailer.drain()
    assert inbox.messages == []
    async with db.session() as session:
        assert (await session.scalars(select(ResetToken))).all() == []


async def test_reset_requests_are_throttled_per_address(
    db: Database, mail_auth: AuthService, inbox: Inbox, clock: FakeClock
) -> None:
    for i in range(5):
        await mail_auth.request_password_reset(f"user{i}@example.com", ip="10.0.0.7")
    with pytest.raises(RateLimited, match="too many password reset requests") as error:
        await mail_auth.request_password_reset("anyone@example.com", ip="10.0.0.7")
    assert 3500 <= error.value.retry_after <= 3600
    await mail_auth.request_password_reset("anyone@example.com", ip="10.0.0.8")
    clock.advance(hours=1)
    await mail_auth.request_password_reset("anyone@example.com", ip="10.0.0.7")


async def test_a_successful_reset_lifts_the_sign_in_delays_of_the_account(
    db: Database, mail_auth: AuthService, inbox: Inbox, clock: FakeClock
) -> None:
    await add_user(db, "ada@example.com")
    backoff = throttle.LOGIN_PER_ACCOUNT_AND_IP
    for ip in ("10.0.0.1", "10.0.0.2"):
        key = throttle.login_pair_key("ada@example.com", ip)
        for _ in range(backoff.free + 10):  # enough failed sign-ins for a long wait
            await throttle.hit_backoff(db, key, backoff, now=clock.now())
        with pytest.raises(RateLimited):
            await mail_auth.login("ada@example.com", PASSWORD, ip=ip)
    bob_key = throttle.login_pair_key("bob@example.com", "10.0.0.1")
    await throttle.hit_backoff(db, bob_key, backoff, now=clock.now())
    await mail_auth.request_password_reset("ada@example.com")
    await mail_auth.mailer.drain()
    await mail_auth.reset_password(reset_token_from(inbox), NEW_PASSWORD)
    await mail_auth.login("ada@example.com", NEW_PASSWORD, ip="10.0.0.1")
    await mail_auth.login("ada@example.com", NEW_PASSWORD, ip="10.0.0.2")
    async with db.session() as session:
        assert await session.get(RateLimit, bob_key) is not None  # other accounts keep theirs


async def test_without_smtp_the_email_goes_to_the_log(
    plain_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dts.mail")
    settings = plain_settings
    assert await Mailer(settings).send("ada@example.com", "Hello", "the body") is False
    assert "EMAIL (not sent, DTS_SMTP_URL unset) to=ada@example.com" in caplog.text
    assert "the body" in caplog.text

    caplog.clear()
    production = settings.model_copy(update={"env": "production"})
    await Mailer(production).send("ada@example.com", "Hello", "secret link")
    assert "EMAIL (not sent, DTS_SMTP_URL unset)" in caplog.text
    assert "secret link" not in caplog.text


async def test_a_send_failure_is_logged_without_the_password(
    plain_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens here
    broken = plain_settings.model_copy(
        update={"smtp_url": f"smtp://mailer:hunter2-s3cret@127.0.0.1:{port}?timeout=2"}
    )
    mailer = Mailer(broken)
    assert "hunter2" not in repr(mailer.target)
    assert await mailer.send("ada@example.com", "Hello", "body") is False
    assert f"mailer@127.0.0.1:{port}" in caplog.text
    assert "hunter2" not in caplog.text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.local", ("relay.local", 25, None, None, False, None)),
        (
            "smtp://user%40corp:p%3Ass@mail.corp:587?starttls=true",
            ("mail.corp", 587, "user@corp", "p:ss", False, True),
        ),
        ("smtp://mail.corp?starttls=true", ("mail.corp", 587, None, None, False, True)),
        ("smtp://mail.corp:2525?starttls=false", ("mail.corp", 2525, None, None, False, False)),
        ("smtps://u:p@mail.corp", ("mail.corp", 465, "u", "p", True, None)),
    ],
)
def test_smtp_url_forms(url: str, expected: tuple[object, ...]) -> None:
    target = parse_smtp_url(url)
    got = (
        target.host,
        target.port,
        target.username,
        target.password,
        target.use_tls,
        target.start_tls,
    )
    assert got == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("smtp://h?starttls=maybe", "starttls must be true or false"),
        ("smtps://h?starttls=true", "TLS already"),
        ("smtp://h?timeout=0", "timeout"),
        ("smtp://h:99999", "port"),
        ("http://h", "expected smtp://"),
    ],
)
def test_smtp_url_mistakes_are_named(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_smtp_url(url)
