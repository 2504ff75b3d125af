"""The HTTP executors against a real HTTP server on loopback.

Every test here runs once per client (httpx and aiohttp, the `http_client` fixture's
params): the two executors must behave alike, down to log lines and error texts."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import __version__
from app.config import HttpClient
from app.domain.job_spec import HttpSpec, parse_http_spec
from tests.executors.conftest import MakeExecutor
from tests.executors.support import LogRecorder, TargetServer, make_context
from worker.executors.factory import HttpExecutorLike
from worker.executors.http import build_http_client, parse_retry_after
from worker.executors.http_aiohttp import build_aiohttp_session


@pytest.fixture
def executor(make_executor: MakeExecutor) -> HttpExecutorLike:
    """Private targets allowed: the target server lives on loopback."""
    return make_executor(allow_private=True)


@pytest.fixture
def guarded(make_executor: MakeExecutor) -> HttpExecutorLike:
    return make_executor(allow_private=False)


def spec(url: str, **fields: Any) -> HttpSpec:
    return parse_http_spec({"method": fields.pop("method", "GET"), "url": url, **fields})


async def test_ok_is_logged_and_summarised(executor: HttpExecutorLike, http_server: TargetServer):
    log = LogRecorder()
    result = await executor.execute(spec(http_server.url("/ok")), make_context(log))

    assert result.outcome == "succeeded"
    assert result.http_status == 200
    assert result.output == "hello from the target\nsecond line"
    system = log.texts("system")
    assert system[0].startswith(f"GET {http_server.url('/ok')} → 200 OK in ")
    assert system[0].endswith(" ms")
    assert "content-type: text/plain; charset=utf-8" in system
    assert log.texts("stdout") == ["hello from the target", "second line"]


async def test_dts_headers_arrive_and_request_headers_are_never_logged(
    executor: HttpExecutorLike, http_server: TargetServer
):
    log = LogRecorder()
    job = spec(
        http_server.url("/echo"),
        method="POST",
        headers=[
            {"name": "Authorization", "value": "Bearer sup3r-secret"},
            {"name": "X-Team", "value": "çà-ops"},
        ],
        body={"hello": "world"},
    )
    ctx = make_context(log, run_id=41, attempt=2)
    result = await executor.execute(job, ctx)

    assert result.outcome == "succeeded"
    seen = http_server.requests[-1]
    assert seen.method == "POST"
    assert seen.headers["idempotency-key"] == "run-40"
    assert seen.headers["x-dts-run-id"] == "41"
    assert seen.headers["x-dts-attempt"] == "2"
    assert seen.headers["user-agent"] == f"dts/{__version__}"
    assert seen.headers["authorization"] == "Bearer sup3r-secret"
    assert seen.headers["x-team"].encode("latin-1").decode() == "çà-ops"  # sent as UTF-8
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {"hello": "world"}
    # The echo body contains the secret, but the request's own headers are not logged
    # as headers: only response headers and the (echoed) body.
    system = "\n".join(log.texts("system"))
    assert "sup3r-secret" not in system
    assert "Idempotency-Key" not in system


@pytest.mark.parametrize(
    ("path", "outcome", "status", "retryable", "retry_after"),
    [
        ("/created", "succeeded", 201, False, None),
        ("/missing", "failed", 404, False, None),
        ("/boom", "failed", 500, True, None),
        ("/busy", "failed", 429, True, 7.0),
    ],
)
async def test_status_classification(
    executor: HttpExecutorLike,
    http_server: TargetServer,
    path: str,
    outcome: str,
    status: int,
    retryable: bool,
    retry_after: float | None,
):
    result = await executor.execute(spec(http_server.url(path)), make_context(LogRecorder()))
    assert (result.outcome, result.http_status, result.retryable, result.retry_after) == (
        outcome,
        status,
        retryable,
        retry_after,
    )
    if outcome == "failed":
        assert result.error is not None and result.error.startswith(f"HTTP {status} ")


async def test_retry_after_as_http_date(executor: HttpExecutorLike, http_server: TargetServer):
    result = await executor.execute(
        spec(http_server.url("/busy-date")), make_context(LogRecorder())
    )
    assert result.http_status == 503 and result.retryable
    assert result.retry_after is not None and 100 < result.retry_after <= 120


def test_parse_retry_after() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


async def test_head_request(executor: HttpExecutorLike, http_server: TargetServer):
    log = LogRecorder()
    result = await executor.execute(spec(http_server.url("/ok"), method="HEAD"), make_context(log))
    assert result.outcome == "succeeded" and result.output is None
    assert http_server.requests[-1].method == "HEAD"
    assert log.texts("stdout") == []


async def test_configured_success_statuses(executor: HttpExecutorLike, http_server: TargetServer):
    job = spec(http_server.url("/missing"), successStatuses=[404])
    result = await executor.execute(job, make_context(LogRecorder()))
    assert result.outcome == "succeeded" and result.http_status == 404


async def test_timeout_is_total_and_retryable(
    executor: HttpExecutorLike, http_server: TargetServer
):
    log = LogRecorder()
    started = time.monotonic()
    result = await executor.execute(spec(http_server.url("/slow")), make_context(log, timeout=0.5))
    assert result.outcome == "timed_out"
    assert result.retryable
    assert time.monotonic() - started < 1.5
    assert "timed out" in log.texts("system")[-1]


async def test_cancel_aborts_the_request_quickly(
    executor: HttpExecutorLike, http_server: TargetServer
):
    log = LogRecorder()
    ctx = make_context(log, timeout=30)
    asyncio.get_running_loop().call_later(0.2, ctx.cancelled.set)
    started = time.monotonic()
    result = await executor.execute(spec(http_server.url("/slow")), ctx)
    assert result.outcome == "cancelled"
    assert not result.retryable
    assert time.monotonic() - started < 1.0


async def test_connection_refused_is_retryable_and_says_where(
    executor: HttpExecutorLike, unused_port: int
):
    result = await executor.execute(
        spec(f"http://127.0.0.1:{unused_port}/"), make_context(LogRecorder())
    )
    assert result.outcome == "failed"
    assert result.retryable
    assert result.error == f"connection refused to 127.0.0.1:{unused_port}"


async def test_unresolvable_host(executor: HttpExecutorLike):
    result = await executor.execute(
        spec("http://no-such-host.invalid/"), make_context(LogRecorder(), timeout=10)
    )
    assert result.outcome == "failed" and result.retryable
    assert (
        result.error is not None and "could not resolve host 'no-such-host.invalid'" in result.error
    )


async def test_redirects_not_followed_by_default(
    executor: HttpExecutorLike, http_server: TargetServer
):
    log = LogRecorder()
    result = await executor.execute(spec(http_server.url("/redirect")), make_context(log))
    assert result.outcome == "failed" and result.http_status == 302 and not result.retryable
    assert "location: /ok" in log.texts("system")


async def test_redirects_followed_when_asked(executor: HttpExecutorLike, http_server: TargetServer):
    log = LogRecorder()
    job = spec(http_server.url("/redirect"), followRedirects=True)
    result = await executor.execute(job, make_context(log))
    assert result.outcome == "succeeded" and result.http_status == 200
    system = log.texts("system")
    assert system[0].endswith(f"→ 302 Found, redirected to {http_server.url('/ok')}")
    assert system[1].startswith(f"GET {http_server.url('/ok')} → 200 OK")


async def test_secret_headers_do_not_follow_a_cross_origin_redirect(
    executor: HttpExecutorLike, http_server: TargetServer
):
    other_origin = http_server.url("/echo", host="localhost")
    job = spec(
        http_server.url(f"/redirect-to?to={other_origin}"),
        followRedirects=True,
        headers=[
            {"name": "X-Api-Key", "value": "k3y"},
            {"name": "X-Sig", "value": "s1g", "secret": True},
            {"name": "X-Plain", "value": "p"},
        ],
    )
    result = await executor.execute(job, make_context(LogRecorder()))
    assert result.outcome == "succeeded"
    first, second = http_server.requests[-2:]
    assert first.headers["x-api-key"] == "k3y" and first.headers["x-sig"] == "s1g"
    assert "x-api-key" not in second.headers and "x-sig" not in second.headers
    assert second.headers["x-plain"] == "p"
    assert second.headers["idempotency-key"] == first.headers["idempotency-key"]


async def test_cookies_are_not_shared_between_jobs(
    executor: HttpExecutorLike, http_server: TargetServer
):
    await executor.execute(spec(http_server.url("/set-cookie")), make_context(LogRecorder()))
    await executor.execute(spec(http_server.url("/echo")), make_context(LogRecorder()))
    assert "cookie" not in http_server.requests[-1].headers


async def test_big_body_is_capped_in_the_log(
    make_executor: MakeExecutor, http_server: TargetServer
):
    ex = make_executor(allow_private=True, max_body_log=1000)
    log = LogRecorder()
    result = await ex.execute(spec(http_server.url("/big")), make_context(log))
    assert result.outcome == "succeeded"
    assert sum(len(t) for t in log.texts("stdout")) <= 1000
    assert log.texts("system")[-1] == "body truncated: showing 1000 of 52000 bytes"
    assert result.output is not None and len(result.output) <= 1000


async def test_binary_body_is_not_dumped(executor: HttpExecutorLike, http_server: TargetServer):
    log = LogRecorder()
    result = await executor.execute(spec(http_server.url("/binary")), make_context(log))
    assert result.outcome == "succeeded"
    assert log.texts("stdout") == []
    assert "[256 bytes of application/octet-stream not shown]" in log.texts("system")


async def test_connections_are_pooled(executor: HttpExecutorLike, http_server: TargetServer):
    for _ in range(5):
        await executor.execute(spec(http_server.url("/ok")), make_context(LogRecorder()))
    assert http_server.connections == 1


# -- SSRF guard -------------------------------------------------------------------------


def _loopback_name() -> str | None:
    """A host name other than localhost that resolves to loopback here, if any."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80)}
    except OSError:
        return None
    return name if addresses and all(a.startswith("127.") for a in addresses) else None


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "refused: 127.0.0.1 is a loopback address"),
        ("localhost", "refused: localhost resolves to 127.0.0.1, a loopback address"),
        ("2130706433", "refused: 2130706433 resolves to 127.0.0.1, a loopback address"),
        ("hostname", "resolves to 127."),
    ],
)
async def test_guard_refuses_loopback_and_nothing_connects(
    guarded: HttpExecutorLike, http_server: TargetServer, host: str, shown: str
):
    if host == "hostname":
        found = _loopback_name()
        if found is None:
            pytest.skip("this machine's host name does not resolve to loopback")
        host = found
    log = LogRecorder()
    result = await guarded.execute(spec(http_server.url("/ok", host=host)), make_context(log))
    assert result.outcome == "failed"
    assert not result.retryable
    assert result.error is not None and result.error.startswith("refused: ")
    assert shown in result.error
    assert result.error.endswith("set DTS_HTTP_ALLOW_PRIVATE=true to allow private targets")
    assert http_server.connections == 0
    assert log.texts("system")[-1].endswith(result.error)


async def test_guard_refuses_ipv6_loopback(guarded: HttpExecutorLike, http_server: TargetServer):
    if not http_server.port_v6:
        pytest.skip("no IPv6 loopback here")
    url = f"http://[::1]:{http_server.port_v6}/ok"
    result = await guarded.execute(spec(url), make_context(LogRecorder()))
    assert result.error is not None and result.error.startswith(
        "refused: ::1 is a loopback address"
    )
    assert http_server.connections == 0


async def test_ipv6_loopback_works_when_allowed(
    executor: HttpExecutorLike, http_server: TargetServer
):
    if not http_server.port_v6:
        pytest.skip("no IPv6 loopback here")
    result = await executor.execute(
        spec(f"http://[::1]:{http_server.port_v6}/ok"), make_context(LogRecorder())
    )
    assert result.outcome == "succeeded"


async def test_guard_refuses_cloud_metadata_without_touching_the_network(guarded: HttpExecutorLike):
    started = time.monotonic()
    result = await guarded.execute(
        spec("http://169.254.169.254/latest/meta-data/"), make_context(LogRecorder())
    )
    assert result.error is not None
    assert result.error.startswith("refused: 169.254.169.254 is a link-local address")
    assert time.monotonic() - started < 0.5


async def test_guard_checks_the_address_resolved_at_connect_time(
    make_executor: MakeExecutor, http_server: TargetServer
):
    """A name that looked public when the job was saved and resolves to loopback when the
    worker connects (DNS rebinding) is refused; the resolver is consulted per connection."""
    asked: list[str] = []

    async def rebinding_resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    ex = make_executor(allow_private=False, resolver=rebinding_resolver)
    result = await ex.execute(
        spec(f"http://rebind.example.com:{http_server.port}/ok"), make_context(LogRecorder())
    )
    assert asked == ["rebind.example.com"]
    assert result.error is not None
    assert result.error.startswith("refused: rebind.example.com resolves to 127.0.0.1")
    assert http_server.connections == 0


async def test_redirects_go_through_the_guarded_resolver(
    make_executor: MakeExecutor, http_server: TargetServer
):
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    target = f"http://second-hop.example.com:{http_server.port}/ok"
    job = spec(http_server.url(f"/redirect-to?to={target}"), followRedirects=True)
    allowed = make_executor(allow_private=True, resolver=resolver)
    refused = make_executor(allow_private=False, resolver=resolver)
    ok = await allowed.execute(job, make_context(LogRecorder()))
    # The first hop is a literal loopback address, so with the guard on nothing at all
    # connects; the allowed run shows the redirect's host is resolved by our backend.
    blocked = await refused.execute(job, make_context(LogRecorder()))
    assert ok.outcome == "succeeded"
    assert asked == ["second-hop.example.com"]
    assert blocked.error is not None and blocked.error.startswith("refused: 127.0.0.1")


# -- TLS: the guard connects to an address, but certificates are checked for the host name


def _tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a cert for 'localhost' only, client context trusting its CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dts test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(cert.public_bytes(pem))
        key_file.write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, client


async def test_tls_verifies_the_url_host_not_the_connected_address(
    make_executor: MakeExecutor,
):
    server_ctx, client_ctx = _tls_contexts()
    target = TargetServer()
    srv = await asyncio.start_server(target.handle, "127.0.0.1", 0, ssl=server_ctx)
    port = srv.sockets[0].getsockname()[1]
    ex = make_executor(allow_private=True, ssl_context=client_ctx)
    try:
        # localhost resolves to 127.0.0.1; the certificate is for "localhost": accepted.
        ok = await ex.execute(spec(f"https://localhost:{port}/ok"), make_context(LogRecorder()))
        # Same server by address: the certificate does not name 127.0.0.1: refused.
        bad = await ex.execute(spec(f"https://127.0.0.1:{port}/ok"), make_context(LogRecorder()))
    finally:
        await ex.aclose()
        for handler in target.handlers:
            handler.cancel()
        srv.close()
        await srv.wait_closed()
    assert ok.outcome == "succeeded", ok.error
    assert target.requests[0].headers["host"] == f"localhost:{port}"
    assert bad.outcome == "failed" and not bad.retryable
    assert bad.error is not None and bad.error.startswith("TLS certificate not accepted")


# -- more of the guard: literals, mixed answers, the address actually used -------------


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("10.1.2.3", "a private address"),
        ("192.168.0.1", "a private address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("0.0.0.0", "an unspecified address"),
        ("[fd00::1]", "a private address"),
        ("[::ffff:127.0.0.1]", "a loopback address (embedded in an IPv6 address)"),
    ],
)
async def test_guard_refuses_private_ip_literals_without_resolving_or_connecting(
    make_executor: MakeExecutor, connect_attempts: list[str], host: str, reason: str
):
    """aiohttp's connector skips the resolver for IP literals: the guard must not."""
    asked: list[str] = []

    async def resolver(name: str, port: int) -> list[str]:
        asked.append(name)
        return ["93.184.216.34"]

    ex = make_executor(allow_private=False, resolver=resolver)
    result = await ex.execute(spec(f"http://{host}:8080/"), make_context(LogRecorder()))
    assert result.outcome == "failed" and not result.retryable
    assert result.error is not None and result.error.startswith("refused: ")
    assert reason in result.error
    assert asked == [] and connect_attempts == []


@pytest.mark.parametrize("answer", [["93.184.216.34", "127.0.0.1"], ["127.0.0.1", "93.184.216.34"]])
async def test_guard_refuses_a_name_if_any_address_is_private(
    make_executor: MakeExecutor, connect_attempts: list[str], answer: list[str]
):
    async def resolver(name: str, port: int) -> list[str]:
        return answer

    ex = make_executor(allow_private=False, resolver=resolver)
    result = await ex.execute(spec("http://mixed.example.com/"), make_context(LogRecorder()))
    assert result.error == (
        "refused: mixed.example.com resolves to 127.0.0.1, a loopback address; "
        "set DTS_HTTP_ALLOW_PRIVATE=true to allow private targets"
    )
    assert not result.retryable
    assert connect_attempts == []


async def test_guard_connects_only_to_the_addresses_it_checked(
    make_executor: MakeExecutor, connect_attempts: list[str]
):
    """A public answer is allowed, and the connection goes to that very address (here
    stopped by the test before it leaves the machine), not to a second lookup's."""

    async def resolver(name: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    ex = make_executor(allow_private=False, resolver=resolver)
    result = await ex.execute(spec("http://public.example.com:8080/"), make_context(LogRecorder()))
    assert connect_attempts == ["93.184.216.34"]
    assert result.outcome == "failed" and result.retryable
    assert result.error is not None and result.error.startswith("connection refused to ")


async def test_a_client_given_to_the_executor_is_used_as_is(
    http_client: HttpClient, http_server: TargetServer
):
    """`client=`: a guarded client built by `build_http_client` / `build_aiohttp_session`,
    used as is (its resolver answers) and left open by the executor's aclose()."""
    from worker.executors.http import HttpExecutor
    from worker.executors.http_aiohttp import AiohttpExecutor

    asked: list[str] = []

    async def resolver(name: str, port: int) -> list[str]:
        asked.append(name)
        return ["127.0.0.1"]

    url = f"http://given.example.com:{http_server.port}/ok"
    if http_client == "httpx":
        client = build_http_client(allow_private=True, resolver=resolver)
        ex: HttpExecutorLike = HttpExecutor(client=client)
        result = await ex.execute(spec(url), make_context(LogRecorder()))
        await ex.aclose()
        assert not client.is_closed
        await client.aclose()
    else:
        session = build_aiohttp_session(allow_private=True, resolver=resolver)
        ex = AiohttpExecutor(client=session)
        result = await ex.execute(spec(url), make_context(LogRecorder()))
        await ex.aclose()
        assert not session.closed
        await session.close()
    assert result.outcome == "succeeded"
    assert asked == ["given.example.com"]


# -- redirects: method rules (as httpx), loops, unsupported targets ---------------------


async def test_303_turns_post_into_get_without_the_body(
    executor: HttpExecutorLike, http_server: TargetServer
):
    job = spec(http_server.url("/see-other"), method="POST", body="payload", followRedirects=True)
    result = await executor.execute(job, make_context(LogRecorder()))
    assert result.outcome == "succeeded"
    first, second = http_server.requests[-2:]
    assert (first.method, first.body) == ("POST", b"payload")
    assert (second.method, second.body) == ("GET", b"")
    assert "content-length" not in second.headers or second.headers["content-length"] == "0"


async def test_307_keeps_the_method_and_the_body(
    executor: HttpExecutorLike, http_server: TargetServer
):
    log = LogRecorder()
    job = spec(http_server.url("/temporary"), method="POST", body="payload", followRedirects=True)
    result = await executor.execute(job, make_context(log))
    assert result.outcome == "succeeded"
    assert [(r.method, r.body) for r in http_server.requests[-2:]] == [
        ("POST", b"payload"),
        ("POST", b"payload"),
    ]
    assert log.texts("system")[0] == (
        f"POST {http_server.url('/temporary')} → 307 Temporary Redirect, "
        f"redirected to {http_server.url('/echo')}"
    )
    assert log.texts("system")[1].startswith(f"POST {http_server.url('/echo')} → 200 OK in ")


async def test_no_content_type_unless_the_job_sets_one(
    executor: HttpExecutorLike, http_server: TargetServer
):
    job = spec(http_server.url("/echo"), method="POST", body="plain text")
    await executor.execute(job, make_context(LogRecorder()))
    assert "content-type" not in http_server.requests[-1].headers


async def test_a_redirect_loop_stops(executor: HttpExecutorLike, http_server: TargetServer):
    job = spec(http_server.url("/loop"), followRedirects=True)
    result = await executor.execute(job, make_context(LogRecorder()))
    assert result.outcome == "failed" and not result.retryable
    assert result.error == "more than 10 redirects"
    assert len(http_server.requests) == 11


async def test_a_redirect_to_another_scheme_is_not_followed(
    executor: HttpExecutorLike, http_server: TargetServer
):
    job = spec(http_server.url("/to-ftp"), followRedirects=True)
    result = await executor.execute(job, make_context(LogRecorder()))
    assert result.outcome == "failed" and not result.retryable
    assert result.error == (
        "invalid redirect target (Location 'ftp://files.example.com/x' uses the ftp: scheme; "
        "only http and https redirects are followed)"
    )


@pytest.mark.parametrize(
    "location",
    [
        "file:/etc/passwd",
        "file:///etc/passwd",
        "FILE://localhost/etc/passwd",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "ftp:/x",
        "gopher://files.example.com/x",
    ],
)
async def test_a_redirect_to_a_non_http_scheme_is_refused_not_taken_as_a_path(
    executor: HttpExecutorLike, http_server: TargetServer, location: str
):
    """aiohttp used to read `file:/etc/passwd` (a scheme, no host) as the path
    /etc/passwd on the current host, and followed it."""
    log = LogRecorder()
    job = spec(http_server.url(f"/redirect-to?to={location}"), followRedirects=True)
    result = await executor.execute(job, make_context(log))
    assert result.outcome == "failed" and not result.retryable
    scheme = location.split(":", 1)[0].lower()
    assert result.error == (
        f"invalid redirect target (Location {location!r} uses the {scheme}: scheme; "
        "only http and https redirects are followed)"
    )
    assert len(http_server.requests) == 1  # nothing was requested after the redirect
    assert log.texts("system")[-1].endswith(f"→ {result.error}")


@pytest.mark.parametrize("location", ["data:text/plain,hello", "javascript:alert(1)"])
async def test_an_unusable_location_is_only_reported_by_a_job_that_follows_it(
    executor: HttpExecutorLike, http_server: TargetServer, location: str
):
    """A job that does not follow redirects sees the 302 itself (httpx used to fail it on
    a Location it never meant to follow)."""
    job = spec(http_server.url(f"/redirect-to?to={location}"))
    result = await executor.execute(job, make_context(LogRecorder()))
    assert (result.outcome, result.http_status, result.error) == ("failed", 302, "HTTP 302 Found")


async def test_secret_headers_follow_a_same_origin_redirect(
    executor: HttpExecutorLike, http_server: TargetServer
):
    job = spec(
        http_server.url(f"/redirect-to?to={http_server.url('/echo')}"),
        followRedirects=True,
        headers=[
            {"name": "X-Sig", "value": "s1g", "secret": True},
            {"name": "Cookie", "value": "c=1"},
        ],
    )
    result = await executor.execute(job, make_context(LogRecorder()))
    assert result.outcome == "succeeded"
    second = http_server.requests[-1]
    assert second.headers["x-sig"] == "s1g"
    assert second.headers["cookie"] == "c=1"  # the job's own Cookie header, restored


# -- the two clients side by side --------------------------------------------------------


def _comparable(result: Any, log: LogRecorder) -> tuple[Any, ...]:
    lines = [
        re.sub(r" in \d+ ms$", " in N ms", f"[{line.stream}] {line.text}") for line in log.lines
    ]
    return (
        result.outcome,
        result.http_status,
        result.error,
        result.output,
        result.retryable,
        result.retry_after,
        lines,
    )


async def test_both_clients_log_and_report_alike(http_server: TargetServer, unused_port: int):
    """The same jobs through both executors: identical results and log lines."""
    from worker.executors.factory import make_http_executor

    jobs = [
        spec(http_server.url("/ok")),
        spec(http_server.url("/missing")),
        spec(http_server.url("/busy")),
        spec(http_server.url("/big")),
        spec(http_server.url("/binary")),
        spec(http_server.url("/created"), method="PUT", body={"a": 1}),
        spec(http_server.url("/redirect"), followRedirects=True),
        spec(http_server.url("/redirect")),
        spec(http_server.url("/loop"), followRedirects=True),
        spec(http_server.url("/redirect-to?to=file:/etc/passwd"), followRedirects=True),
        spec(http_server.url("/redirect-to?to=data:text/plain,x"), followRedirects=True),
        spec(http_server.url("/redirect-to?to=data:text/plain,x")),
        spec(f"http://127.0.0.1:{unused_port}/"),
        spec("http://no-such-host.invalid/"),
    ]
    seen: dict[str, list[tuple[Any, ...]]] = {}
    for name in ("httpx", "aiohttp"):
        ex = make_http_executor(name, allow_private=True, max_body_log=500)  # type: ignore[arg-type]
        try:
            for job in jobs:
                log = LogRecorder()
                result = await ex.execute(job, make_context(log, timeout=10))
                seen.setdefault(name, []).append(_comparable(result, log))
        finally:
            await ex.aclose()
    for job, via_httpx, via_aiohttp in zip(jobs, seen["httpx"], seen["aiohttp"], strict=True):
        assert via_httpx == via_aiohttp, job.url


# -- aiohttp internals the guard relies on -----------------------------------------------


def test_aiohttp_still_resolves_through_the_method_the_guard_overrides():
    """GuardedConnector overrides TCPConnector._resolve_host, private aiohttp API: if an
    upgrade renames it or stops calling it, fail here (the socket-factory check would
    still refuse, but with worse messages)."""
    import inspect

    import aiohttp

    from worker.executors.http_aiohttp import GuardedConnector

    parameters = list(inspect.signature(aiohttp.TCPConnector._resolve_host).parameters)
    assert parameters == ["self", "host", "port", "traces"]
    assert list(inspect.signature(GuardedConnector._resolve_host).parameters) == parameters
    source = inspect.getsource(aiohttp.TCPConnector._create_direct_connection)
    assert "self._resolve_host(" in source
    assert "socket_factory" in inspect.signature(aiohttp.TCPConnector).parameters


async def test_aiohttp_socket_factory_refuses_even_if_resolution_is_bypassed(
    monkeypatch: pytest.MonkeyPatch, http_server: TargetServer, connect_attempts: list[str]
):
    """The second line: with aiohttp's stock resolution (which passes literals through
    unchecked), the guarded connector's socket factory still refuses loopback."""
    import aiohttp

    from worker.executors.http_aiohttp import AiohttpExecutor, GuardedConnector

    monkeypatch.setattr(GuardedConnector, "_resolve_host", aiohttp.TCPConnector._resolve_host)
    ex = AiohttpExecutor(allow_private=False)
    try:
        result = await ex.execute(spec(http_server.url("/ok")), make_context(LogRecorder()))
    finally:
        await ex.aclose()
    assert result.error is not None
    assert result.error.startswith("refused: 127.0.0.1 is a loopback address")
    assert not result.retryable
    assert connect_attempts == [] and http_server.connections == 0


def test_aiohttp_session_is_made_inside_the_running_loop():
    """The executor can be built before the loop runs; its session comes on first use."""
    from worker.executors.http_aiohttp import AiohttpExecutor

    ex = AiohttpExecutor(allow_private=True)
    assert ex._session is None

    async def use() -> None:
        assert ex.session is ex.session  # one shared session
        await ex.aclose()

    asyncio.run(use())
