"""The HTTP executor: one request per attempt through a shared, SSRF-guarded httpx client.

Why httpx rather than aiohttp: it is already the stack's client (tests, tooling), its
transport layer (httpcore) lets us replace only the network backend, which is where the
SSRF guard has to live (see below), and its connection pool is plain asyncio code we can
read. aiohttp is often faster per request; `Executor` takes a spec and a context and knows
nothing of the client, so an aiohttp executor can be measured side by side in bench/ and
swapped in if the figures say so. The guard would then move into an aiohttp resolver plus
a connector check, which is the part to get right.

SSRF guard: a check on the URL at job creation is not enough, because DNS can answer
differently at run time (rebinding). `GuardedNetworkBackend` sits under httpcore's pool:
it resolves the host itself, refuses if any address is private, and connects to the very
addresses it checked. TLS still verifies and sends SNI for the URL's host name, because
httpcore starts TLS on the returned stream with the origin's host. Redirects open their
connections through the same backend, so they are checked too. Proxies from the
environment are ignored (`trust_env=False`): a proxy would connect on our behalf, unchecked.

The client is shared by every job of every user, so it keeps no cookies: a session cookie
set for one job must not ride along on another's request.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from app import __version__
from app.domain.job_spec import (
    HttpSpec,
    check_http_target,
    forbidden_address_reason,
    refusal_message,
)
from worker.executors.base import ExecutionContext, ExecutionResult, summarise

__all__ = [
    "GuardedNetworkBackend",
    "HttpExecutor",
    "TargetRefused",
    "build_http_client",
    "check_http_target",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"dts/{__version__}"
MAX_REDIRECTS = 10
# Read at most this much of a response: enough to keep the connection reusable for normal
# replies, bounded so a huge download cannot fill memory. Only `max_body_log` is logged.
MAX_BODY_READ = 1024 * 1024
LOGGED_RESPONSE_HEADERS = ("content-type", "content-length", "retry-after", "location")
RETRYABLE_STATUSES = frozenset({408, 429})

Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetRefused(Exception):
    """The target resolves to an address jobs may not call. Deliberately not an
    httpcore/httpx error, so it reaches the executor unchanged through the client."""


# ---------------------------------------------------------------------------------------
# The guard


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


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses it has checked."""

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self._resolve = resolver or resolve_host
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port)
        if not self.allow_private:
            for address in addresses:
                reason = forbidden_address_reason(ipaddress.ip_address(address))
                if reason:
                    raise TargetRefused(refusal_message(host, address, reason))
        failures: list[str] = []
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectTimeout:
                failures.append(f"timed out connecting to {_hostport(address, port)}")
            except httpcore.ConnectError as error:
                failures.append(f"{_os_reason(error)} to {_hostport(address, port)}")
        raise httpcore.ConnectError("; ".join(failures) or f"no address for {host}")

    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        try:
            addresses = await self._resolve(host, port)
        except socket.gaierror as error:
            raise httpcore.ConnectError(
                f"could not resolve host {host!r} ({error.strerror})"
            ) from error
        if not addresses:
            raise httpcore.ConnectError(f"could not resolve host {host!r} (no addresses)")
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("refused: jobs cannot call Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _os_reason(error: BaseException) -> str:
    """'connection refused' rather than anyio's 'All connection attempts failed'."""
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


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (exception mapping, streams), over a pool using our backend.

    httpx has no public way to pass a network backend, so the pool it builds is replaced
    by an identical one that has it. Tested against httpx 0.28 / httpcore 1.0.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
    ) -> None:
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )


def build_http_client(
    *,
    allow_private: bool,
    max_connections: int = 64,
    user_agent: str = DEFAULT_USER_AGENT,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """The one client a worker shares across all HTTP jobs: pooled, guarded, cookieless.

    Certificates are checked against certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR when
    set (a private CA), or `ssl_context` when given.
    """
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
    )
    backend = GuardedNetworkBackend(allow_private=allow_private, resolver=resolver)
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        transport=_GuardedTransport(
            limits=limits,
            backend=backend,
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=True),
        ),
        trust_env=False,
        cookies=no_cookies,
        headers={"User-Agent": user_agent},
        follow_redirects=False,
        timeout=60.0,  # each request gets the attempt's own timeout; this is a backstop
    )


# ---------------------------------------------------------------------------------------
# The executor


@dataclass(slots=True)
class _Exchange:
    """What the request task brings back to `execute`, which does the logging."""

    response: httpx.Response
    final_request: str  # "METHOD url" of the last hop (a 303 turns POST into GET)
    body: bytes = b""
    body_size: int = 0
    body_complete: bool = True
    hops: list[str] = field(default_factory=list)


class HttpExecutor:
    def __init__(
        self,
        *,
        allow_private: bool = False,
        user_agent: str = DEFAULT_USER_AGENT,
        max_body_log: int = 4096,
        client: httpx.AsyncClient | None = None,
        max_connections: int = 64,
    ) -> None:
        """`client`, if given, is used as is; build it with `build_http_client` to keep
        the SSRF guard (a plain httpx client has none)."""
        self.allow_private = allow_private
        self.user_agent = user_agent
        self.max_body_log = max_body_log
        self._owns_client = client is None
        self.client = client or build_http_client(
            allow_private=allow_private, max_connections=max_connections, user_agent=user_agent
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def execute(self, spec: HttpSpec, ctx: ExecutionContext) -> ExecutionResult:
        started = time.monotonic()
        if ctx.cancelled.is_set():
            return ExecutionResult("cancelled", 0.0, error="cancelled before the request")

        where = f"{spec.method} {spec.url}"
        try:
            request = self._build_request(spec, ctx)
        except (httpx.InvalidURL, ValueError) as error:
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
                await ctx.log("system", f"{where} → cancelled after {_ms(elapsed)}")
                return ExecutionResult("cancelled", elapsed, error="cancelled during the request")
            message = f"no complete response within {ctx.timeout_seconds:g} s"
            await ctx.log("system", f"{where} → timed out: {message}")
            return ExecutionResult("timed_out", elapsed, error=message, retryable=True)

        failure = exchange_task.exception()
        if failure is not None:
            return await self._failure(failure, where, elapsed, ctx)
        return await self._outcome(exchange_task.result(), spec, elapsed, ctx)

    def _build_request(self, spec: HttpSpec, ctx: ExecutionContext) -> httpx.Request:
        # Values as UTF-8 bytes: httpx would encode str values as ASCII and fail on "é".
        headers = [(h.name.encode(), h.value.encode()) for h in spec.headers]
        headers += [
            (b"Idempotency-Key", ctx.idempotency_key.encode()),
            (b"X-DTS-Run-Id", str(ctx.run_id).encode()),
            (b"X-DTS-Attempt", str(ctx.attempt).encode()),
        ]
        content = spec.body.encode() if spec.body is not None else None
        return self.client.build_request(
            spec.method,
            spec.url,
            headers=headers,
            content=content,
            # Per phase (connect, read, ...); the attempt as a whole is bounded in execute().
            timeout=httpx.Timeout(ctx.timeout_seconds),
        )

    async def _exchange(self, request: httpx.Request, spec: HttpSpec) -> _Exchange:
        hops: list[str] = []
        for _hop in range(MAX_REDIRECTS + 1):
            response = await self.client.send(request, stream=True)
            next_request = response.next_request
            if not (spec.follow_redirects and next_request is not None):
                break
            await _read_capped(response, MAX_BODY_READ)  # keeps the connection reusable
            hops.append(
                f"{request.method} {request.url} → {response.status_code} "
                f"{response.reason_phrase}, redirected to {next_request.url}"
            )
            request = _carry_headers(request, next_request, spec)
        else:
            await response.aclose()
            raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)

        try:
            body, size, complete = await _read_capped(response, MAX_BODY_READ)
        finally:
            await response.aclose()
        return _Exchange(response, f"{request.method} {request.url}", body, size, complete, hops)

    async def _failure(
        self, error: BaseException, where: str, elapsed: float, ctx: ExecutionContext
    ) -> ExecutionResult:
        retryable = True
        outcome: Any = "failed"
        if isinstance(error, TargetRefused):
            message, retryable = str(error), False
        elif isinstance(error, httpx.TimeoutException):
            message, outcome = f"timed out ({error})", "timed_out"
        elif isinstance(error, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(error):
            message, retryable = f"TLS certificate not accepted: {error}", False
        elif isinstance(error, httpx.ConnectError):
            message = str(error)
        elif isinstance(error, httpx.TooManyRedirects):
            message, retryable = str(error), False
        elif isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
            message, retryable = f"invalid redirect target ({error})", False
        elif isinstance(error, httpx.TransportError):
            message = f"connection error: {error or type(error).__name__}"
        else:
            logger.error("HTTP executor bug for run %s", ctx.run_id, exc_info=error)
            message, retryable = f"internal error: {type(error).__name__}: {error}", False
        await ctx.log("system", f"{where} → {message}")
        return ExecutionResult(outcome, elapsed, error=message, retryable=retryable)

    async def _outcome(
        self,
        exchange: _Exchange,
        spec: HttpSpec,
        elapsed: float,
        ctx: ExecutionContext,
    ) -> ExecutionResult:
        response = exchange.response
        status = response.status_code
        for hop in exchange.hops:
            await ctx.log("system", hop)
        await ctx.log(
            "system",
            f"{exchange.final_request} → {status} {response.reason_phrase} in {_ms(elapsed)}",
        )
        for name in LOGGED_RESPONSE_HEADERS:
            if name in response.headers:
                await ctx.log("system", f"{name}: {response.headers[name]}")
        text = await self._log_body(exchange, ctx)

        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if spec.is_success(status):
            return ExecutionResult(
                "succeeded", elapsed, http_status=status, output=summarise(text or "")
            )
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        return ExecutionResult(
            "failed",
            elapsed,
            http_status=status,
            error=f"HTTP {status} {response.reason_phrase}".rstrip(),
            output=summarise(text or ""),
            retryable=retryable,
            retry_after=retry_after if retryable else None,
        )

    async def _log_body(self, exchange: _Exchange, ctx: ExecutionContext) -> str | None:
        if not exchange.body:
            return None
        content_type = exchange.response.headers.get("content-type", "")
        if not _is_textual(content_type):
            await ctx.log("system", f"[{_size(exchange)} of {content_type} not shown]")
            return None
        shown = exchange.body[: self.max_body_log]
        text = shown.decode(exchange.response.charset_encoding or "utf-8", errors="replace")
        for line in text.splitlines():
            await ctx.log("stdout", line)
        if len(exchange.body) > self.max_body_log or not exchange.body_complete:
            await ctx.log("system", f"body truncated: showing {len(shown)} of {_size(exchange)}")
        return text


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, int, bool]:
    """Up to `limit` bytes of the (decoded) body; (bytes, size read, whether complete)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks), size, False
    return b"".join(chunks), size, True


def _carry_headers(
    previous: httpx.Request, following: httpx.Request, spec: HttpSpec
) -> httpx.Request:
    """Secret headers go only to the origin they were meant for. httpx strips just
    Authorization on a cross-origin redirect (and Cookie always); we strip every secret
    header cross-origin and restore the job's own headers when the origin is the same."""
    same_origin = (previous.url.scheme, previous.url.host, previous.url.port) == (
        following.url.scheme,
        following.url.host,
        following.url.port,
    )
    for header in spec.headers:
        if not same_origin and header.secret:
            following.headers.pop(header.name, None)
        elif same_origin and header.name not in following.headers:
            following.headers[header.name] = header.value
    return following


def _is_textual(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        not kind
        or kind.startswith("text/")
        or kind.endswith(("json", "xml", "javascript", "x-www-form-urlencoded"))
        or "+json" in kind
        or "+xml" in kind
    )


def _size(exchange: _Exchange) -> str:
    more = "" if exchange.body_complete else "more than "
    return f"{more}{exchange.body_size} bytes"


def _ms(seconds: float) -> str:
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
