"""Notification channels: create them (secrets encrypted, shown once), and send one message.

Kinds:
- `email`: to one address, through the SMTP setup of app.services.mail (`DTS_SMTP_URL`);
- `webhook`: POST JSON, signed: `X-Dts-Timestamp: <unix seconds>` and
  `X-Dts-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the channel secret>`;
- `slack`: POST `{"text": ...}` to a Slack-compatible incoming webhook URL.

Webhook URLs are checked like HTTP jobs' targets: private, loopback and link-local
addresses are refused unless `DTS_HTTP_ALLOW_PRIVATE` is set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import AlertChannel, AlertRule
from app.domain.errors import Forbidden, NotFound, ValidationError
from app.domain.job_spec import check_http_target
from app.services import throttle
from app.services.access import Principal, ensure_may_write
from app.services.secrets import SecretBox

if TYPE_CHECKING:
    from app.services.mail import Mailer

KINDS = ("email", "webhook", "slack")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SEND_TIMEOUT = 10.0
# Test notifications per user: at most this many per window (then refused for a window).
TEST_LIMIT = 10
TEST_WINDOW_SECONDS = 600.0


class DeliveryError(Exception):
    """A channel could not take the message; `retryable` says whether trying later helps."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class CreatedChannel:
    channel: AlertChannel
    # The webhook signing secret, returned once at creation and never again.
    signing_secret: str | None


def _check_url(url: str, field: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"{field} must be an http:// or https:// URL with a host.", field=field
        )
    if len(url) > 2000:
        raise ValidationError(f"{field} is longer than 2000 characters.", field=field)
    return url


def validate_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The clean plain-text config of a channel, or ValidationError naming the field."""
    if kind not in KINDS:
        raise ValidationError(
            f"kind must be one of {', '.join(KINDS)} (got {kind!r}).", field="kind"
        )
    if kind == "email":
        address = str(config.get("address") or "").strip()
        if not EMAIL_RE.match(address) or len(address) > 320:
            raise ValidationError("address must be an e-mail address.", field="address")
        return {"address": address}
    url = _check_url(str(config.get("url") or ""), "url")
    return {"url": url}


async def create_channel(
    session: AsyncSession,
    box: SecretBox,
    principal: Principal,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    shared: bool = False,
    allow_private: bool = False,
) -> CreatedChannel:
    """Store a new channel. Targets that are private without asking DNS (literal
    addresses, `localhost`) are refused here, as for HTTP jobs; names are checked again,
    resolved, at every delivery."""
    ensure_may_write(principal)
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("name must be 1 to 100 characters.", field="name")
    if shared and not principal.is_admin:
        raise Forbidden("Only an admin may create a shared channel.", field="shared")
    clean = validate_config(kind, config)
    if "url" in clean:
        check_http_target(clean["url"], allow_private=allow_private, field="url")
    stored: dict[str, Any] = dict(clean)
    signing_secret = None
    if kind in ("webhook", "slack"):
        stored["url"] = box.encrypt(clean["url"])
        stored["url_hint"] = mask_url(clean["url"])
    if kind == "webhook":
        signing_secret = "whsec_" + secrets.token_urlsafe(32)
        stored["secret"] = box.encrypt(signing_secret)
    channel = AlertChannel(
        owner_id=principal.user_id, shared=shared, name=name, kind=kind, config=stored
    )
    session.add(channel)
    await session.flush()
    return CreatedChannel(channel, signing_secret)


def mask_url(url: str) -> str:
    """What a list shows of a secret URL: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…"


def public_config(channel: AlertChannel) -> dict[str, Any]:
    """A channel's config without its secrets (URLs masked, the signing secret left out)."""
    if channel.kind == "email":
        return {"address": channel.config.get("address")}
    return {"url": channel.config.get("url_hint", "…")}


async def list_channels(session: AsyncSession, principal: Principal) -> list[AlertChannel]:
    """The caller's channels and the shared ones (an admin sees every channel)."""
    query = select(AlertChannel).order_by(AlertChannel.id)
    if not principal.is_admin:
        query = query.where(
            or_(AlertChannel.owner_id == principal.user_id, AlertChannel.shared.is_(True))
        )
    return list((await session.scalars(query)).all())


async def get_channel(
    session: AsyncSession, principal: Principal, channel_id: int, *, write: bool = False
) -> AlertChannel:
    channel = await session.get(AlertChannel, channel_id)
    mine = channel is not None and (channel.owner_id == principal.user_id or principal.is_admin)
    visible = mine or (channel is not None and channel.shared and not write)
    if channel is None or not visible:
        raise NotFound(f"No channel with id {channel_id}.", field="id")
    if write:
        ensure_may_write(principal)
    return channel


async def delete_channel(session: AsyncSession, principal: Principal, channel_id: int) -> None:
    channel = await get_channel(session, principal, channel_id, write=True)
    # Rules stop naming it (a shared channel may be in anyone's rules).
    query = select(AlertRule)
    if not channel.shared:
        query = query.where(AlertRule.owner_id == channel.owner_id)
    for rule in await session.scalars(query):
        if channel.id in rule.channel_ids:
            rule.channel_ids = [i for i in rule.channel_ids if i != channel.id]
    await session.delete(channel)


def test_payload(channel: AlertChannel, at: datetime) -> dict[str, Any]:
    return {
        "id": f"test:{channel.id}:{int(at.timestamp())}",
        "event": "test",
        "title": f"[dts] test notification for channel {channel.name!r}",
        "summary": "This is a test: the channel works.",
        "at": at.isoformat(),
    }


def render_text(payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of a notification for people (e-mail, Slack)."""
    subject = str(payload.get("title") or "dts notification")
    lines = [subject, ""]
    if payload.get("summary"):
        lines.append(str(payload["summary"]))
    if payload.get("url"):
        lines += ["", str(payload["url"])]
    return subject, "\n".join(lines)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class ChannelSender:
    """Sends one message to one channel (used by the outbox delivery loop)."""

    def __init__(self, settings: Settings, box: SecretBox) -> None:
        self.settings = settings
        self.box = box
        self._mailer: Mailer | None = None

    @property
    def mailer(self) -> Mailer:
        # Loaded at the first e-mail: a worker that sends none never loads aiosmtplib.
        if self._mailer is None:
            from app.services.mail import Mailer

            self._mailer = Mailer(self.settings)
        return self._mailer

    async def send(self, kind: str, config: dict[str, Any], payload: dict[str, Any]) -> None:
        if kind == "email":
            if self.mailer.target is None:
                raise DeliveryError(
                    "e-mail is not configured on this server: set DTS_SMTP_URL", retryable=False
                )
            subject, text = render_text(payload)
            if not await self.mailer.send(str(config["address"]), subject, text):
                raise DeliveryError("the SMTP server did not accept the message (see the log)")
            return
        url = self.box.decrypt(str(config["url"]))
        if kind == "slack":
            _subject, text = render_text(payload)
            body = json.dumps({"text": text}).encode()
            await self._post(url, body, {})
            return
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(time.time()))
        secret = self.box.decrypt(str(config["secret"]))
        headers = {
            "X-Dts-Timestamp": timestamp,
            "X-Dts-Signature": sign(secret, timestamp, body),
            "X-Dts-Event": str(payload.get("event", "")),
            "Idempotency-Key": str(payload.get("id", "")),
        }
        await self._post(url, body, headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        from worker.executors.http_common import (
            TargetRefused,
            literal_address,
            refuse_forbidden,
            resolve_host,
        )

        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not self.settings.http_allow_private:
            try:
                literal = literal_address(host)
                addresses = [literal] if literal else await resolve_host(host, port)
                refuse_forbidden(host, addresses)
            except TargetRefused as error:
                raise DeliveryError(str(error), retryable=False) from None
            except OSError as error:
                raise DeliveryError(f"could not resolve {host!r}: {error}") from None
        headers = {"Content-Type": "application/json", "User-Agent": "dts-alerts", **headers}
        # aiohttp, as the worker's executor uses: delivering adds no HTTP stack to a worker.
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as client,
                client.post(url, data=body, headers=headers, allow_redirects=False) as response,
            ):
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}".rstrip(": ")) from None
        if status >= 300:
            retryable = status >= 500 or status in (408, 429)
            raise DeliveryError(f"the receiver answered HTTP {status}", retryable=retryable)


@dataclass
class TestResult:
    ok: bool
    error: str | None


async def send_test(
    db: Any, settings: Settings, principal: Principal, channel_id: int, at: datetime
) -> TestResult:
    """Send a test message to a channel now (not through the outbox: the caller waits for
    the answer); a delivery problem is the result, not an error."""
    async with db.session() as session:
        channel = await get_channel(session, principal, channel_id, write=True)
        kind, config, payload = channel.kind, dict(channel.config), test_payload(channel, at)
    # A test sends at once to an address or URL of the caller's choosing: bounded, so an
    # account cannot be used to flood someone's inbox or endpoint.
    await throttle.hit(
        db,
        throttle.make_key("alert-test:user", str(principal.user_id)),
        limit=TEST_LIMIT,
        window_seconds=TEST_WINDOW_SECONDS,
        block_seconds=TEST_WINDOW_SECONDS,
        now=at,
        message="too many test notifications",
    )
    try:
        await ChannelSender(settings, SecretBox(settings)).send(kind, config, payload)
    except DeliveryError as error:
        return TestResult(False, str(error))
    return TestResult(True, None)
