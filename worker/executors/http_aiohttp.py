"""The aiohttp HTTP executor: one request per attempt through a shared, SSRF-guarded session.

Same contract, log lines, outcomes and error texts as the httpx executor (`http.py`; both
built on `http_common.HttpExecutorBase`), at about a tenth of its CPU per request. The
session is created lazily, inside the running loop, on the first request; it follows no
redirect itself (`allow_redirects=False`: `_exchange` follows them, with httpx's rules and
ours for secret headers), reads no proxy from the environment (`trust_env=False`), and
keeps no cookies (`DummyCookieJar`: the session is shared by every job of every user).

SSRF guard, in `GuardedConnector` (a `TCPConnector`): aiohttp resolves every new
connection's host in `TCPConnector._resolve_host` and connects to exactly the addresses it
returns; the stock method returns IP literals unresolved and unchecked, and caches DNS
answers. Ours resolves names itself (no cache: the answer checked is the answer used, so
DNS rebinding gains nothing), takes literals as they are, refuses if ANY address is
forbidden, and returns only the checked addresses. TLS still verifies and sends SNI for
the URL's host name (aiohttp passes `server_hostname` from the URL, not the address).
Redirect hops are new requests through the same connector, so they are checked too. A
second line that does not depend on that private method: the connector's public
`socket_factory` checks each address again just before its socket is created. Unix
sockets cannot be reached: only a `UnixConnector` connects to one.

`_resolve_host` is private aiohttp API: `aiohttp` is pinned below the next minor version
in pyproject.toml, and tests/executors check its signature and that a literal private
address is refused, so an upgrade that changes it fails loudly rather than opening a hole.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import ResolveResult
from multidict import CIMultiDict
from yarl import URL

from app.domain.job_spec import HttpSpec
from worker.executors.base import ExecutionContext
from worker.executors.http_common import (
    DEFAULT_USER_AGENT,
    LOGGED_RESPONSE_HEADERS,
    MAX_BODY_READ,
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
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
    is_https_upgrade,
    literal_address,
    origin,
    os_reason,
    reason_phrase,
    redirect_method,
    refuse_forbidden,
    refuse_unfollowable_location,
    resolve_host,
    unresolvable_message,
)

if TYPE_CHECKING:
    from aiohttp.tracing import Trace

__all__ = ["AiohttpExecutor", "GuardedConnector", "build_aiohttp_session"]

_MAX_HEADER_LINE = 16 * 1024
_NO_AUTO_CONTENT_TYPE = ("Content-Type",)  # as httpx: no Content-Type unless the job sets one


class HostUnresolvable(OSError):
    """Raised from the connector's resolution step; aiohttp wraps it in
    ClientConnectorDNSError, and the executor shows its message."""


class _ConnectTimedOut(Exception):
    """aiohttp's ConnectionTimeoutError, with the message the httpx executor gives."""


class RefusedAddress(OSError):
    """The socket factory's refusal (the guard's second line). An OSError, because that is
    what aiohttp's connection racing collects and reports."""


# ---------------------------------------------------------------------------------------
# The guard


def _checked_socket(addr_info: AddrInfoType) -> socket.socket:
    """`socket_factory` for a guarded connector: the last check before a socket exists."""
    family, kind, proto, _canonical, sockaddr = addr_info
    try:
        refuse_forbidden(str(sockaddr[0]), [str(sockaddr[0])])
    except TargetRefused as refusal:
        raise RefusedAddress(errno.EACCES, str(refusal)) from None
    return socket.socket(family=family, type=kind, proto=proto)


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that connects only to addresses it has checked."""

    def __init__(
        self, *, allow_private: bool, resolver: Resolver | None = None, **options: Any
    ) -> None:
        if not allow_private:
            options["socket_factory"] = _checked_socket
        # No DNS cache: each new connection resolves, checks and uses one answer.
        super().__init__(use_dns_cache=False, **options)
        self.allow_private = allow_private
        self._resolve = resolver or resolve_host

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        """aiohttp's resolution step, for every new connection, literal hosts included."""
        literal = literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self._resolve(host, port)
            except OSError as error:  # socket.gaierror
                raise HostUnresolvable(unresolvable_message(host, error)) from error
            if not addresses:
                raise HostUnresolvable(unresolvable_message(host, None))
        if not self.allow_private:
            refuse_forbidden(host, addresses)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in addresses
        ]


def build_aiohttp_session(
    *,
    allow_private: bool,
    max_connections: int = 64,
    user_agent: str = DEFAULT_USER_AGENT,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> aiohttp.ClientSession:
    """The one session a worker shares across all HTTP jobs: pooled, guarded, cookieless.
    Call it inside the running loop. Certificates as in `build_http_client`: certifi's
    CAs, or SSL_CERT_FILE / SSL_CERT_DIR when set, or `ssl_context` when given."""
    connector = GuardedConnector(
        allow_private=allow_private,
        resolver=resolver,
        limit=max_connections,
        keepalive_timeout=30.0,
        ssl=ssl_context or default_ssl_context(),
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": user_agent},
        trust_env=False,
        # Each request gets the attempt's own timeouts; this is a backstop.
        timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=60, sock_read=60),
        raise_for_status=False,
        # aiohttp's default is 8,190 bytes per header line; httpx (h11) takes 16 KiB of
        # headers in all. Large Set-Cookie or CSP headers should not fail a run here only.
        max_line_size=_MAX_HEADER_LINE,
        max_field_size=_MAX_HEADER_LINE,
    )


# ---------------------------------------------------------------------------------------
# The executor


@dataclass(slots=True)
class _Request:
    method: str
    url: URL
    headers: CIMultiDict[str]
    body: bytes | None
    timeout: aiohttp.ClientTimeout


class AiohttpExecutor(HttpExecutorBase[_Request]):
    def __init__(
        self,
        *,
        allow_private: bool = False,
        user_agent: str = DEFAULT_USER_AGENT,
        max_body_log: int = 4096,
        client: aiohttp.ClientSession | None = None,
        max_connections: int = 64,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`client`, if given, is used as is; build it with `build_aiohttp_session` to keep
        the SSRF guard (a plain aiohttp session has none). Otherwise the executor builds
        its own on the first request, inside the running loop, with `resolver` and
        `ssl_context`."""
        self.allow_private = allow_private
        self.user_agent = user_agent
        self.max_body_log = max_body_log
        self.max_connections = max_connections
        self._resolver = resolver
        self._ssl_context = ssl_context
        self._owns_client = client is None
        self._session = client

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = build_aiohttp_session(
                allow_private=self.allow_private,
                max_connections=self.max_connections,
                user_agent=self.user_agent,
                resolver=self._resolver,
                ssl_context=self._ssl_context,
            )
        return self._session

    async def aclose(self) -> None:
        if self._owns_client and self._session is not None:
            await self._session.close()
            self._session = None

    def _prepare(self, spec: HttpSpec, ctx: ExecutionContext) -> _Request:
        url = URL(spec.url)  # ValueError: "not sent"
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL with a host: {spec.url!r}")
        headers: CIMultiDict[str] = CIMultiDict((h.name, h.value) for h in spec.headers)
        headers.add("Idempotency-Key", ctx.idempotency_key)
        headers.add("X-DTS-Run-Id", str(ctx.run_id))
        headers.add("X-DTS-Attempt", str(ctx.attempt))
        return _Request(
            spec.method,
            url,
            headers,
            spec.body.encode() if spec.body is not None else None,
            # Per phase, as httpx's; the attempt as a whole is bounded in execute().
            aiohttp.ClientTimeout(
                total=None,
                connect=None,
                sock_connect=ctx.timeout_seconds,
                sock_read=ctx.timeout_seconds,
            ),
        )

    async def _exchange(self, request: _Request, spec: HttpSpec) -> Exchange:
        session = self.session
        hops: list[str] = []
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                response = await session.request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    data=request.body,
                    allow_redirects=False,
                    timeout=request.timeout,
                    skip_auto_headers=_NO_AUTO_CONTENT_TYPE,
                )
            except aiohttp.ConnectionTimeoutError as error:
                where = hostport(request.url.host or "", request.url.port)
                raise _ConnectTimedOut(f"timed out connecting to {where}") from error
            try:
                reason = _reason(response)
                following = _redirect(request, response, spec) if spec.follow_redirects else None
                body, size, complete = await _read_capped(response, MAX_BODY_READ)
            finally:
                response.release()
            if following is None:
                return Exchange(
                    status=response.status,
                    reason=reason,
                    headers={
                        name: ", ".join(response.headers.getall(name))
                        for name in LOGGED_RESPONSE_HEADERS
                        if name in response.headers
                    },
                    charset=response.charset,
                    final_request=f"{request.method} {request.url}",
                    body=body,
                    body_size=size,
                    body_complete=complete,
                    hops=hops,
                )
            hops.append(
                hop_line(
                    request.method, str(request.url), response.status, reason, str(following.url)
                )
            )
            request = following
        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

    def _describe(self, error: BaseException) -> Failure | None:
        if isinstance(error, aiohttp.ClientConnectorCertificateError):
            return Failure(
                f"TLS certificate not accepted: {error.certificate_error}", retryable=False
            )
        if isinstance(error, aiohttp.ClientConnectorDNSError):
            return Failure(str(error.os_error))
        if isinstance(error, aiohttp.ClientConnectorError):
            cause = error.os_error
            if isinstance(cause, RefusedAddress):
                return Failure(str(cause.strerror), retryable=False)
            if isinstance(error, aiohttp.ClientSSLError):
                return Failure(str(cause))
            return Failure(f"{os_reason(cause)} to {hostport(error.host, error.port)}")
        if isinstance(error, _ConnectTimedOut):
            # As the httpx executor: a connect timeout is a failed connection, not the
            # attempt's timeout.
            return Failure(str(error))
        if isinstance(error, TimeoutError):  # aiohttp's socket read timeout
            return Failure(f"timed out ({error or 'reading the response'})", outcome="timed_out")
        if isinstance(error, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
            return Failure(f"invalid redirect target ({error})", retryable=False)
        if isinstance(error, aiohttp.ClientError | OSError):
            return Failure(f"connection error: {error or type(error).__name__}")
        return None


def _reason(response: aiohttp.ClientResponse) -> str:
    return reason_phrase(response.status, response.reason)


def _redirect(
    request: _Request, response: aiohttp.ClientResponse, spec: HttpSpec
) -> _Request | None:
    """The next hop, as httpx builds it (method, URL, its header rules), then ours."""
    location = response.headers.get("Location")
    if response.status not in REDIRECT_STATUSES or location is None:
        return None
    refuse_unfollowable_location(location)
    try:
        target = URL(location)
        if target.scheme and not target.host:  # "http:/path": httpx takes the host
            target = URL.build(path=target.path, query_string=target.query_string)
        target = request.url.join(target)
    except ValueError as error:
        raise InvalidRedirect(f"Invalid URL in location header: {error}.") from error
    if request.url.fragment and not target.fragment:
        target = target.with_fragment(request.url.fragment)
    if target.scheme not in ("http", "https") or not target.host:
        raise InvalidRedirect(f"Request URL has an unsupported protocol '{target.scheme}://'.")

    method = redirect_method(response.status, request.method)
    headers = request.headers.copy()
    before = origin(request.url.scheme, request.url.host, request.url.port)
    after = origin(target.scheme, target.host, target.port)
    same_origin = before == after
    if not same_origin:
        if not is_https_upgrade(before, after):
            headers.popall("Authorization", None)
        headers.popall("Host", None)
    body = request.body
    if method != request.method and method == "GET":
        headers.popall("Content-Length", None)
        headers.popall("Transfer-Encoding", None)
        body = None
    headers.popall("Cookie", None)
    carry = carry_headers(spec, headers.__contains__, same_origin=same_origin)
    for name in carry.drop:
        headers.popall(name, None)
    for name, value in carry.restore:
        headers[name] = value
    return _Request(method, target, headers, body, request.timeout)


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, int, bool]:
    """Up to `limit` bytes of the (decoded) body; (bytes, size read, whether complete)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks), size, False
    return b"".join(chunks), size, True
