"""The httpx HTTP executor: one request per attempt through a shared, SSRF-guarded client.

dts has two HTTP executors behind the same `Executor` interface, chosen by
`DTS_HTTP_CLIENT` (`worker/executors/factory.py`): `AiohttpExecutor`
(`http_aiohttp.py`, the default) and this one. They log, classify and retry alike: what
they share is in `http_common.py`. aiohttp is the default because it costs about a tenth
of httpx's CPU per request (docs/architecture.md, "HTTP executors", has the figures);
this one stays as the fallback, and because httpx's transport layer (httpcore) lets the
guard replace just the network backend, which is easy to read and to trust.

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
import ssl
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from app.domain.job_spec import HttpSpec, check_http_target
from worker.executors.base import ExecutionContext
from worker.executors.http_common import (
    DEFAULT_USER_AGENT,
    LOGGED_RESPONSE_HEADERS,
    MAX_BODY_READ,
    MAX_REDIRECTS,
    Exchange,
    Failure,
    HttpExecutorBase,
    InvalidRedirect,
    Resolver,
    TargetRefused,
    TooManyRedirects,
    carry_headers,
    default_ssl_context,
    hop_line,
    hostport,
    literal_address,
    origin,
    os_reason,
    parse_retry_after,
    reason_phrase,
    refuse_forbidden,
    refuse_unfollowable_location,
    resolve_host,
    unresolvable_message,
)

__all__ = [
    "GuardedNetworkBackend",
    "HttpExecutor",
    "TargetRefused",
    "build_http_client",
    "check_http_target",
    "parse_retry_after",
]


# ---------------------------------------------------------------------------------------
# The guard


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
            refuse_forbidden(host, addresses)
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
                failures.append(f"timed out connecting to {hostport(address, port)}")
            except httpcore.ConnectError as error:
                failures.append(f"{os_reason(error)} to {hostport(address, port)}")
        raise httpcore.ConnectError("; ".join(failures) or f"no address for {host}")

    async def _addresses(self, host: str, port: int) -> list[str]:
        literal = literal_address(host)
        if literal is not None:
            return [literal]
        try:
            addresses = await self._resolve(host, port)
        except OSError as error:  # socket.gaierror
            raise httpcore.ConnectError(unresolvable_message(host, error)) from error
        if not addresses:
            raise httpcore.ConnectError(unresolvable_message(host, None))
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


_REDIRECT_ERROR = "dts.redirect_error"


class _ExecutorClient(httpx.AsyncClient):
    """httpx's client, minus one habit: it builds the next request of every redirect
    response, even with `follow_redirects=False`, and raises if the Location is unusable
    (`data:…`), failing a job that never asked to follow it. The executor follows
    redirects itself, so a Location that cannot be built is noted on the response
    (`next_request` stays None) and reported only if the job follows it."""

    def _build_redirect_request(self, request: httpx.Request, response: httpx.Response) -> Any:
        try:
            return super()._build_redirect_request(request, response)
        except (httpx.InvalidURL, httpx.RemoteProtocolError) as error:
            response.extensions[_REDIRECT_ERROR] = error
            return None


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
    return _ExecutorClient(
        transport=_GuardedTransport(
            limits=limits,
            backend=backend,
            ssl_context=ssl_context or default_ssl_context(),
        ),
        trust_env=False,
        cookies=no_cookies,
        headers={"User-Agent": user_agent},
        follow_redirects=False,
        timeout=60.0,  # each request gets the attempt's own timeout; this is a backstop
    )


# ---------------------------------------------------------------------------------------
# The executor


class HttpExecutor(HttpExecutorBase[httpx.Request]):
    def __init__(
        self,
        *,
        allow_private: bool = False,
        user_agent: str = DEFAULT_USER_AGENT,
        max_body_log: int = 4096,
        client: httpx.AsyncClient | None = None,
        max_connections: int = 64,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`client`, if given, is used as is; build it with `build_http_client` to keep
        the SSRF guard (a plain httpx client has none). `resolver` and `ssl_context` go to
        `build_http_client` when the executor builds its own client."""
        self.allow_private = allow_private
        self.user_agent = user_agent
        self.max_body_log = max_body_log
        self._owns_client = client is None
        self.client = client or build_http_client(
            allow_private=allow_private,
            max_connections=max_connections,
            user_agent=user_agent,
            resolver=resolver,
            ssl_context=ssl_context,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    def _prepare(self, spec: HttpSpec, ctx: ExecutionContext) -> httpx.Request:
        # Values as UTF-8 bytes: httpx would encode str values as ASCII and fail on "é".
        headers = [(h.name.encode(), h.value.encode()) for h in spec.headers]
        headers += [
            (b"Idempotency-Key", ctx.idempotency_key.encode()),
            (b"X-DTS-Run-Id", str(ctx.run_id).encode()),
            (b"X-DTS-Attempt", str(ctx.attempt).encode()),
        ]
        content = spec.body.encode() if spec.body is not None else None
        try:
            return self.client.build_request(
                spec.method,
                spec.url,
                headers=headers,
                content=content,
                # Per phase (connect, read, ...); the attempt as a whole is bounded in
                # execute().
                timeout=httpx.Timeout(ctx.timeout_seconds),
            )
        except httpx.InvalidURL as error:
            raise ValueError(str(error)) from error

    async def _exchange(self, request: httpx.Request, spec: HttpSpec) -> Exchange:
        hops: list[str] = []
        for _hop in range(MAX_REDIRECTS + 1):
            response = await self.client.send(request, stream=True)
            if not (spec.follow_redirects and response.has_redirect_location):
                break
            next_request = response.next_request
            try:
                refuse_unfollowable_location(response.headers["Location"])
                if next_request is None:
                    unusable = response.extensions.get(_REDIRECT_ERROR)
                    raise InvalidRedirect(str(unusable or "no usable Location"))
            except InvalidRedirect:
                await response.aclose()
                raise
            await _read_capped(response, MAX_BODY_READ)  # keeps the connection reusable
            hops.append(
                hop_line(
                    request.method,
                    str(request.url),
                    response.status_code,
                    reason_phrase(response.status_code, response.reason_phrase),
                    str(next_request.url),
                )
            )
            request = _carry_headers(request, next_request, spec)
        else:
            await response.aclose()
            raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

        try:
            body, size, complete = await _read_capped(response, MAX_BODY_READ)
        finally:
            await response.aclose()
        return Exchange(
            status=response.status_code,
            reason=reason_phrase(response.status_code, response.reason_phrase),
            headers={
                name: response.headers[name]
                for name in LOGGED_RESPONSE_HEADERS
                if name in response.headers
            },
            charset=response.charset_encoding,
            final_request=f"{request.method} {request.url}",
            body=body,
            body_size=size,
            body_complete=complete,
            hops=hops,
        )

    def _describe(self, error: BaseException) -> Failure | None:
        if isinstance(error, httpx.TimeoutException):
            return Failure(f"timed out ({error})", outcome="timed_out")
        if isinstance(error, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(error):
            return Failure(f"TLS certificate not accepted: {error}", retryable=False)
        if isinstance(error, httpx.ConnectError):
            return Failure(str(error))
        if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return Failure(f"invalid redirect target ({error})", retryable=False)
        if isinstance(error, httpx.TransportError):
            return Failure(f"connection error: {error or type(error).__name__}")
        return None


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
    """httpx's redirect request (its own header rules), then ours: `carry_headers`."""
    same_origin = origin(previous.url.scheme, previous.url.host, previous.url.port) == origin(
        following.url.scheme, following.url.host, following.url.port
    )
    carry = carry_headers(spec, following.headers.__contains__, same_origin=same_origin)
    for name in carry.drop:
        following.headers.pop(name, None)
    for name, value in carry.restore:
        following.headers[name] = value
    return following
