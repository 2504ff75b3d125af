"""What the two HTTP executors share: one attempt's life, the guard's rules, the log lines.

`HttpExecutor` (httpx, `http.py`) and `AiohttpExecutor` (aiohttp, `http_aiohttp.py`) differ
only in how they send a request and follow redirects, and in where each client lets the
SSRF guard sit. Everything a user sees is decided here, once, for both: the race against
the attempt's timeout and the cancel flag, the outcome and its error text, the log lines,
the body cap, which statuses retry, Retry-After, which headers follow a redirect, the
address check and its refusal text, the TLS trust store. This module imports neither
client, so a worker running one of them never loads the other.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import re
import socket
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Generic, NamedTuple, TypeVar

from app import __version__
from app.domain.job_spec import HttpSpec, forbidden_address_reason, refusal_message
from worker.executors.base import ExecutionContext, ExecutionResult, Outcome, summarise
from worker.redaction import Redactor

logger = logging.getLogger("worker.executors.http")

DEFAULT_USER_AGENT = f"dts/{__version__}"
MAX_REDIRECTS = 10
# Read at most this much of a response: enough to keep the connection reusable for normal
# replies, bounded so a huge download cannot fill memory. Only `max_body_log` is logged.
MAX_BODY_READ = 1024 * 1024
LOGGED_RESPONSE_HEADERS = ("content-type", "content-length", "retry-after", "location")
RETRYABLE_STATUSES = frozenset({408, 429})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetRefused(Exception):
    """The target resolves to an address jobs may not call. Deliberately not an OSError
    nor a client library's error, so it reaches the executor unchanged through either
    client."""


class TooManyRedirects(Exception):
    """More than MAX_REDIRECTS hops."""


class InvalidRedirect(Exception):
    """A Location the executor will not follow (unparseable, or not http/https)."""


# RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":". A relative
# reference cannot start like this (its first segment may not hold a colon).
_LOCATION_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.\-]*):")
_LOCATION_SHOWN = 200


def refuse_unfollowable_location(location: str) -> None:
    """Raise InvalidRedirect if `location` names a scheme other than http or https.

    Checked on the header's text, before any client parses it: a client that fills in a
    missing host (`file:/etc/passwd`, `data:text/plain,x` have none) would otherwise turn
    it into a path on the current host, and each client words its failure differently.
    """
    match = _LOCATION_SCHEME.match(location)
    if match is None or match.group(1).lower() in ("http", "https"):
        return
    shown = location if len(location) <= _LOCATION_SHOWN else location[:_LOCATION_SHOWN] + "…"
    raise InvalidRedirect(
        f"Location {shown!r} uses the {match.group(1).lower()}: scheme; "
        "only http and https redirects are followed"
    )


# ---------------------------------------------------------------------------------------
# The guard's rules (where each client applies them: see http.py and http_aiohttp.py)


async def resolve_host(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to, in resolver order, without duplicates."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def literal_address(host: str) -> str | None:
    """`host` normalised if it is an IP address literal (no brackets), else None."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def refuse_forbidden(host: str, addresses: Iterable[str]) -> None:
    """Raise TargetRefused if ANY of `addresses` is one jobs may not call."""
    for address in addresses:
        reason = forbidden_address_reason(ipaddress.ip_address(address))
        if reason:
            raise TargetRefused(refusal_message(host, address, reason))


def unresolvable_message(host: str, error: OSError | None) -> str:
    why = "no addresses" if error is None else (error.strerror or str(error))
    return f"could not resolve host {host!r} ({why})"


def hostport(address: str, port: int | None) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def os_reason(error: BaseException) -> str:
    """'connection refused' rather than a library's 'All connection attempts failed'."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            if seen.errno == errno.ECONNREFUSED:
                return "connection refused"
            if seen.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
                return "no route"
            if seen.errno == errno.ETIMEDOUT:
                return "timed out connecting"
            return f"connection failed ({seen.strerror})"
        seen = seen.__cause__ or seen.__context__
    return f"connection failed ({error})"


def default_ssl_context() -> ssl.SSLContext:
    """Certificates checked against SSL_CERT_FILE or SSL_CERT_DIR when set (a private CA),
    else certifi's CAs: what `httpx.create_ssl_context(trust_env=True)` does."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


# ---------------------------------------------------------------------------------------
# Redirects: the rules httpx applies, written once so the aiohttp executor applies them too


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


def origin(scheme: str, host: str | None, port: int | None) -> Origin:
    scheme = scheme.lower()
    default = 443 if scheme == "https" else 80
    return Origin(scheme, (host or "").lower(), port if port is not None else default)


def redirect_method(status: int, method: str) -> str:
    """303 → GET (except HEAD), 302 → GET as browsers do (except HEAD), POST + 301 → GET."""
    if status in (303, 302) and method != "HEAD":
        return "GET"
    if status == 301 and method == "POST":
        return "GET"
    return method


def is_https_upgrade(previous: Origin, following: Origin) -> bool:
    """http://host(:80) → https://host(:443): Authorization may follow (as in httpx)."""
    return (
        previous.host == following.host
        and previous.scheme == "http"
        and previous.port == 80
        and following.scheme == "https"
        and following.port == 443
    )


@dataclass(slots=True)
class HeaderCarry:
    """What `carry_headers` decided for the next hop: names to drop, headers to restore."""

    drop: list[str] = field(default_factory=list)
    restore: list[tuple[str, str]] = field(default_factory=list)


def carry_headers(
    spec: HttpSpec, present: Callable[[str], bool], *, same_origin: bool
) -> HeaderCarry:
    """Secret headers go only to the origin they were meant for. The clients' own rule
    strips just Authorization on a cross-origin redirect (and Cookie always); we strip
    every secret header cross-origin and restore the job's own headers when the origin
    is the same."""
    carry = HeaderCarry()
    for header in spec.headers:
        if not same_origin and header.secret:
            carry.drop.append(header.name)
        elif same_origin and not present(header.name):
            carry.restore.append((header.name, header.value))
    return carry


# ---------------------------------------------------------------------------------------
# Responses


@dataclass(slots=True)
class Exchange:
    """What a request task brings back to `execute`, which does the logging. Client-neutral:
    `headers` holds LOGGED_RESPONSE_HEADERS only, lower-case, repeated values joined."""

    status: int
    reason: str
    headers: dict[str, str]
    charset: str | None
    final_request: str  # "METHOD url" of the last hop (a 303 turns POST into GET)
    body: bytes = b""
    body_size: int = 0
    body_complete: bool = True
    hops: list[str] = field(default_factory=list)


def reason_phrase(status: int, given: str | None) -> str:
    """The status line's reason, or the standard one when the server sent none."""
    if given:
        return given
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def hop_line(method: str, url: str, status: int, reason: str, location: str) -> str:
    return f"{method} {url} → {status} {reason}, redirected to {location}"


def is_textual(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        not kind
        or kind.startswith("text/")
        or kind.endswith(("json", "xml", "javascript", "x-www-form-urlencoded"))
        or "+json" in kind
        or "+xml" in kind
    )


def decode_body(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def encoded_size(text: str, charset: str | None) -> int:
    """How many bytes `text` took in the body (as `decode_body` read it)."""
    try:
        return len(text.encode(charset or "utf-8", errors="replace"))
    except LookupError:
        return len(text.encode("utf-8", errors="replace"))


def size_text(exchange: Exchange) -> str:
    more = "" if exchange.body_complete else "more than "
    return f"{more}{exchange.body_size} bytes"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# ---------------------------------------------------------------------------------------
# One attempt


@dataclass(slots=True, frozen=True)
class Failure:
    """How a client's exception reads in the run: message, outcome, whether to retry."""

    message: str
    outcome: Outcome = "failed"
    retryable: bool = True


RequestT = TypeVar("RequestT")


class HttpExecutorBase(ABC, Generic[RequestT]):
    """`execute` for both clients. A subclass prepares a request (raising ValueError for
    one that cannot be sent), runs the exchange (all hops, body read), and describes its
    client's exceptions."""

    max_body_log: int = 4096

    @abstractmethod
    async def aclose(self) -> None:
        """Close the shared client (its connection pool) at worker shutdown."""

    @abstractmethod
    def _prepare(self, spec: HttpSpec, ctx: ExecutionContext) -> RequestT: ...

    @abstractmethod
    async def _exchange(self, request: RequestT, spec: HttpSpec) -> Exchange: ...

    @abstractmethod
    def _describe(self, error: BaseException) -> Failure | None:
        """The client-specific exceptions; None for what the executor does not expect."""

    async def execute(self, spec: HttpSpec, ctx: ExecutionContext) -> ExecutionResult:
        started = time.monotonic()
        if ctx.cancelled.is_set():
            return ExecutionResult("cancelled", 0.0, error="cancelled before the request")

        where = f"{spec.method} {spec.url}"
        try:
            request = self._prepare(spec, ctx)
        except ValueError as error:
            await ctx.log("system", f"{where} → not sent: {error}")
            return ExecutionResult("failed", 0.0, error=f"invalid request: {error}")
        exchange_task = asyncio.create_task(self._exchange(request, spec))
        cancel_task = asyncio.create_task(ctx.cancelled.wait())
        try:
            done, _ = await asyncio.wait(
                {exchange_task, cancel_task},
                timeout=ctx.timeout_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            cancel_task.cancel()
            if not exchange_task.done():
                exchange_task.cancel()
                await asyncio.wait({exchange_task})

        elapsed = time.monotonic() - started
        if exchange_task.cancelled() or exchange_task not in done:
            if cancel_task in done and not cancel_task.cancelled():
                await ctx.log("system", f"{where} → cancelled after {ms(elapsed)}")
                return ExecutionResult("cancelled", elapsed, error="cancelled during the request")
            message = f"no complete response within {ctx.timeout_seconds:g} s"
            await ctx.log("system", f"{where} → timed out: {message}")
            return ExecutionResult("timed_out", elapsed, error=message, retryable=True)

        failure = exchange_task.exception()
        if failure is not None:
            return await self._failure(failure, where, elapsed, ctx)
        return await self._outcome(exchange_task.result(), spec, elapsed, ctx)

    async def _failure(
        self, error: BaseException, where: str, elapsed: float, ctx: ExecutionContext
    ) -> ExecutionResult:
        if isinstance(error, TargetRefused | TooManyRedirects):
            described: Failure | None = Failure(str(error), retryable=False)
        elif isinstance(error, InvalidRedirect):
            described = Failure(f"invalid redirect target ({error})", retryable=False)
        else:
            described = self._describe(error)
        if described is None:
            logger.error("HTTP executor bug for run %s", ctx.run_id, exc_info=error)
            described = Failure(f"internal error: {type(error).__name__}: {error}", retryable=False)
        await ctx.log("system", f"{where} → {described.message}")
        return ExecutionResult(
            described.outcome, elapsed, error=described.message, retryable=described.retryable
        )

    async def _outcome(
        self,
        exchange: Exchange,
        spec: HttpSpec,
        elapsed: float,
        ctx: ExecutionContext,
    ) -> ExecutionResult:
        status = exchange.status
        for hop in exchange.hops:
            await ctx.log("system", hop)
        await ctx.log(
            "system",
            f"{exchange.final_request} → {status} {exchange.reason} in {ms(elapsed)}",
        )
        for name in LOGGED_RESPONSE_HEADERS:
            if name in exchange.headers:
                await ctx.log("system", f"{name}: {exchange.headers[name]}")
        text = await self._log_body(exchange, spec, ctx)

        if spec.is_success(status):
            return ExecutionResult(
                "succeeded", elapsed, http_status=status, output=summarise(text or "")
            )
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        retry_after = parse_retry_after(exchange.headers.get("retry-after"))
        return ExecutionResult(
            "failed",
            elapsed,
            http_status=status,
            error=f"HTTP {status} {exchange.reason}".rstrip(),
            output=summarise(text or ""),
            retryable=retryable,
            retry_after=retry_after if retryable else None,
        )

    async def _log_body(
        self, exchange: Exchange, spec: HttpSpec, ctx: ExecutionContext
    ) -> str | None:
        """Log the body's first `max_body_log` bytes, secrets masked; return that text."""
        if not exchange.body:
            return None
        content_type = exchange.headers.get("content-type", "")
        if not is_textual(content_type):
            await ctx.log("system", f"[{size_text(exchange)} of {content_type} not shown]")
            return None
        shown = exchange.body[: self.max_body_log]
        text = decode_body(shown, exchange.charset)
        shown_size = len(shown)
        redact = Redactor.for_spec(spec)
        if redact:
            if len(exchange.body) > len(shown):
                # A secret the cap cuts in two would be recognised in neither half: look
                # past the cap (a character is at most 4 bytes), and end before it.
                window = exchange.body[: self.max_body_log + 4 * redact.longest]
                whole = decode_body(window, exchange.charset)
                end = redact.safe_end(whole, len(text))
                if end < len(text):
                    text = whole[:end]
                    shown_size = encoded_size(text, exchange.charset)
            # Masked before anything cuts it again (the summary).
            text = redact(text)
        for line in text.splitlines():
            await ctx.log("stdout", line)
        if len(exchange.body) > shown_size or not exchange.body_complete:
            await ctx.log(
                "system", f"body truncated: showing {shown_size} of {size_text(exchange)}"
            )
        return text
