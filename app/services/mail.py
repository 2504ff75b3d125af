"""Outgoing e-mail over SMTP (aiosmtplib), configured by one URL: `DTS_SMTP_URL`.

    smtp://user:pass@host:587?starttls=true    plain connection upgraded with STARTTLS
    smtp://host:25?starttls=false              plain, never upgraded (a local relay)
    smtp://host:2525                           STARTTLS if the server offers it
    smtps://user:pass@host:465                 TLS from the first byte
    ...&timeout=10                             seconds per SMTP step (default 15)

Without `DTS_SMTP_URL` (development) nothing is sent: the message is written to the log at
WARNING level, marked `EMAIL (not sent, DTS_SMTP_URL unset)`, so a developer can follow a
reset link from the console. In production only the recipient and subject are logged,
because the body may hold a live reset link.

A failure to send is logged (server, reason; never the password) and reported as False,
not raised: callers such as password reset must answer the same whatever happens here.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from app.config import ConfigError, Settings

log = logging.getLogger("dts.mail")

DEFAULT_TIMEOUT = 15.0
# Strong references to messages being sent in the background: the event loop keeps only
# weak ones, and a Mailer made per request may be gone before its message is out.
_in_flight: set[asyncio.Task[bool]] = set()
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # smtps: TLS from the start
    start_tls: bool | None  # True: required; False: never; None: if the server offers it
    timeout: float

    def __repr__(self) -> str:  # keeps the password out of logs and tracebacks
        return f"SmtpTarget({self.describe()})"

    def describe(self) -> str:
        if self.use_tls:
            mode = "smtps"
        elif self.start_tls is None:
            mode = "starttls-if-offered"
        else:
            mode = "starttls" if self.start_tls else "plain"
        who = f"{self.username}@" if self.username else ""
        return f"{who}{self.host}:{self.port} ({mode})"


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read `DTS_SMTP_URL`; raise ConfigError naming the part that is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(
            "DTS_SMTP_URL: expected smtp://user:pass@host:587?starttls=true or smtps://host:465"
        )
    query = {key.lower(): value for key, value in parse_qsl(parts.query)}
    start_tls: bool | None = None
    raw = query.get("starttls")
    if raw is not None:
        if raw.lower() in _TRUE:
            start_tls = True
        elif raw.lower() in _FALSE:
            start_tls = False
        else:
            raise ConfigError(f"DTS_SMTP_URL: starttls must be true or false, not {raw!r}")
    use_tls = scheme == "smtps"
    if use_tls and start_tls:
        raise ConfigError("DTS_SMTP_URL: smtps:// is TLS already; drop starttls=true")
    timeout = DEFAULT_TIMEOUT
    if "timeout" in query:
        try:
            timeout = float(query["timeout"])
        except ValueError:
            timeout = -1
        if not 0 < timeout <= 300:
            raise ConfigError("DTS_SMTP_URL: timeout must be a number of seconds (0-300]")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("DTS_SMTP_URL: the port is not a number in 1-65535") from None
    if port is None:
        port = 465 if use_tls else (587 if start_tls else 25)
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
        start_tls=start_tls,
        timeout=timeout,
    )


class Mailer:
    """Sends plain-text e-mail; one per process (it tracks messages sent in the background)."""

    def __init__(self, settings: Settings) -> None:
        self.sender = settings.smtp_from
        self.production = settings.env == "production"
        self.target = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self._background: set[asyncio.Task[bool]] = set()

    def build(self, to: str, subject: str, text: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(text)
        return message

    async def send(self, to: str, subject: str, text: str) -> bool:
        """Send one message; True if the server accepted it. Never raises for SMTP trouble."""
        if self.target is None:
            if self.production:
                log.warning(
                    "EMAIL (not sent, DTS_SMTP_URL unset) to=%s subject=%r "
                    "(body withheld in production; set DTS_SMTP_URL)",
                    to,
                    subject,
                )
            else:
                log.warning(
                    "EMAIL (not sent, DTS_SMTP_URL unset) to=%s subject=%r\n%s", to, subject, text
                )
            return False
        target = self.target
        try:
            message = self.build(to, subject, text)
            await aiosmtplib.send(
                message,
                hostname=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.use_tls,
                start_tls=target.start_tls,
                timeout=target.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, ValueError) as error:
            reason = str(error).replace(target.password, "***") if target.password else str(error)
            log.error(
                "could not send e-mail to=%s subject=%r via %s: %s: %s",
                to,
                subject,
                target.describe(),
                type(error).__name__,
                reason,
            )
            return False
        log.info("e-mail sent to=%s subject=%r via %s", to, subject, target.describe())
        return True

    def send_in_background(self, to: str, subject: str, text: str) -> None:
        """Send without making the caller wait (its answer time must not reveal anything)."""
        task = asyncio.get_running_loop().create_task(self.send(to, subject, text))
        for tracking in (self._background, _in_flight):
            tracking.add(task)
            task.add_done_callback(tracking.discard)

    async def drain(self) -> None:
        """Wait for messages sent in the background (on shutdown, and in tests).

        Each send is bounded by the SMTP timeout, so this ends too.
        """
        if self._background:
            await asyncio.wait(set(self._background))
