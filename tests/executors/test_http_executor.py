"""The HTTP executor against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import __version__
from app.domain.job_spec import HttpSpec, parse_http_spec
from tests.executors.support import LogRecorder, TargetServer, make_context
from worker.executors.http import HttpExecutor, build_http_client, parse_retry_after


@pytest.fixture
async def executor() -> AsyncIterator[HttpExecutor]:
    """Private targets allowed: the target server lives on loopback."""
    ex = HttpExecutor(allow_private=True)
    try:
        yield ex
    finally:
        await ex.aclose()


@pytest.fixture
async def guarded() -> AsyncIterator[HttpExecutor]:
    ex = HttpExecutor(allow_private=False)
    try:
        yield ex
    finally:
        await ex.aclose()


def spec(url: str, **fields: Any) -> HttpSpec:
    return parse_http_spec({"method": fields.pop("method", "GET"), "url": url, **fields})


async def test_ok_is_logged_and_summarised(executor: HttpExecutor, http_server: TargetServer):
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
    executor: HttpExecutor, http_server: TargetServer
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
    executor: HttpExecutor,
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


async def test_retry_after_as_http_date(executor: HttpExecutor, http_server: TargetServer):
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


async def test_head_request(executor: HttpExecutor, http_server: TargetServer):
    log = LogRecorder()
    result = await executor.execute(spec(http_server.url("/ok"), method="HEAD"), make_context(log))
    assert result.outcome == "succeeded" and result.output is None
    assert http_server.requests[-1].method == "HEAD"
    assert log.texts("stdout") == []


async def test_configured_success_statuses(executor: HttpExecutor, http_server: TargetServer):
    job = spec(http_server.url("/missing"), successStatuses=[404])
    result = await executor.execute(job, make_context(LogRecorder()))
    assert result.outcome == "succeeded" and result.http_status == 404


async def test_timeout_is_total_and_retryable(executor: HttpExecutor, http_server: TargetServer):
    log = LogRecorder()
    started = time.monotonic()
    result = await executor.execute(spec(http_server.url("/slow")), make_context(log, timeout=0.5))
    assert result.outcome == "timed_out"
    assert result.retryable
    assert time.monotonic() - started < 1.5
    assert "timed out" in log.texts("system")[-1]


async def test_cancel_aborts_the_request_quickly(executor: HttpExecutor, http_server: TargetServer):
    log = LogRecorder()
    ctx = make_context(log, timeout=30)
    asyncio.get_running_loop().call_later(0.2, ctx.cancelled.set)
    started = time.monotonic()
    result = await executor.execute(spec(http_server.url("/slow")), ctx)
    assert result.outcome == "cancelled"
    assert not result.retryable
    assert time.monotonic() - started < 1.0


async def test_connection_refused_is_retryable_and_says_where(
    executor: HttpExecutor, unused_port: int
):
    result = await executor.execute(
        spec(f"http://127.0.0.1:{unused_port}/"), make_context(LogRecorder())
    )
    assert result.outcome == "failed"
    assert result.retryable
    assert result.error == f"connection refused to 127.0.0.1:{unused_port}"


async def test_unresolvable_host(executor: HttpExecutor):
    result = await executor.execute(
        spec("http://no-such-host.invalid/"), make_context(LogRecorder(), timeout=10)
    )
    assert result.outcome == "failed" and result.retryable
    assert (
        result.error is not None and "could not resolve host 'no-such-host.invalid'" in result.error
    )


async def test_redirects_not_followed_by_default(executor: HttpExecutor, http_server: TargetServer):
    log = LogRecorder()
    result = await executor.execute(spec(http_server.url("/redirect")), make_context(log))
    assert result.outcome == "failed" and result.http_status == 302 and not result.retryable
    assert "location: /ok" in log.texts("system")


async def test_redirects_followed_when_asked(executor: HttpExecutor, http_server: TargetServer):
    log = LogRecorder()
    job = spec(http_server.url("/redirect"), followRedirects=True)
    result = await executor.execute(job, make_context(log))
    assert result.outcome == "succeeded" and result.http_status == 200
    system = log.texts("system")
    assert system[0].endswith(f"→ 302 Found, redirected to {http_server.url('/ok')}")
    assert system[1].startswith(f"GET {http_server.url('/ok')} → 200 OK")


async def test_secret_headers_do_not_follow_a_cross_origin_redirect(
    executor: HttpExecutor, http_server: TargetServer
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
    executor: HttpExecutor, http_server: TargetServer
):
    await executor.execute(spec(http_server.url("/set-cookie")), make_context(LogRecorder()))
    await executor.execute(spec(http_server.url("/echo")), make_context(LogRecorder()))
    assert "cookie" not in http_server.requests[-1].headers


async def test_big_body_is_capped_in_the_log(http_server: TargetServer):
    ex = HttpExecutor(allow_private=True, max_body_log=1000)
    try:
        log = LogRecorder()
        result = await ex.execute(spec(http_server.url("/big")), make_context(log))
    finally:
        await ex.aclose()
    assert result.outcome == "succeeded"
    assert sum(len(t) for t in log.texts("stdout")) <= 1000
    assert log.texts("system")[-1] == "body truncated: showing 1000 of 52000 bytes"
    assert result.output is not None and len(result.output) <= 1000


async def test_binary_body_is_not_dumped(executor: HttpExecutor, http_server: TargetServer):
    log = LogRecorder()
    result = await executor.execute(spec(http_server.url("/binary")), make_context(log))
    assert result.outcome == "succeeded"
    assert log.texts("stdout") == []
    assert "[256 bytes of application/octet-stream not shown]" in log.texts("system")


async def test_connections_are_pooled(executor: HttpExecutor, http_server: TargetServer):
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
    guarded: HttpExecutor, http_server: TargetServer, host: str, shown: str
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


async def test_guard_refuses_ipv6_loopback(guarded: HttpExecutor, http_server: TargetServer):
    if not http_server.port_v6:
        pytest.skip("no IPv6 loopback here")
    url = f"http://[::1]:{http_server.port_v6}/ok"
    result = await guarded.execute(spec(url), make_context(LogRecorder()))
    assert result.error is not None and result.error.startswith(
        "refused: ::1 is a loopback address"
    )
    assert http_server.connections == 0


async def test_ipv6_loopback_works_when_allowed(executor: HttpExecutor, http_server: TargetServer):
    if not http_server.port_v6:
        pytest.skip("no IPv6 loopback here")
    result = await executor.execute(
        spec(f"http://[::1]:{http_server.port_v6}/ok"), make_context(LogRecorder())
    )
    assert result.outcome == "succeeded"


async def test_guard_refuses_cloud_metadata_without_touching_the_network(guarded: HttpExecutor):
    started = time.monotonic()
    result = await guarded.execute(
        spec("http://169.254.169.254/latest/meta-data/"), make_context(LogRecorder())
    )
    assert result.error is not None
    assert result.error.startswith("refused: 169.254.169.254 is a link-local address")
    assert time.monotonic() - started < 0.5


async def test_guard_checks_the_address_resolved_at_connect_time(http_server: TargetServer):
    """A name that looked public when the job was saved and resolves to loopback when the
    worker connects (DNS rebinding) is refused; the resolver is consulted per connection."""
    asked: list[str] = []

    async def rebinding_resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    client = build_http_client(allow_private=False, resolver=rebinding_resolver)
    ex = HttpExecutor(allow_private=False, client=client)
    try:
        result = await ex.execute(
            spec(f"http://rebind.example.com:{http_server.port}/ok"), make_context(LogRecorder())
        )
    finally:
        await client.aclose()
    assert asked == ["rebind.example.com"]
    assert result.error is not None
    assert result.error.startswith("refused: rebind.example.com resolves to 127.0.0.1")
    assert http_server.connections == 0


async def test_redirects_go_through_the_guarded_resolver(http_server: TargetServer):
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    target = f"http://second-hop.example.com:{http_server.port}/ok"
    job = spec(http_server.url(f"/redirect-to?to={target}"), followRedirects=True)
    allowed = build_http_client(allow_private=True, resolver=resolver)
    refused = build_http_client(allow_private=False, resolver=resolver)
    try:
        ok = await HttpExecutor(client=allowed).execute(job, make_context(LogRecorder()))
        # The first hop is a literal loopback address, so with the guard on nothing at all
        # connects; the allowed run shows the redirect's host is resolved by our backend.
        blocked = await HttpExecutor(client=refused).execute(job, make_context(LogRecorder()))
    finally:
        await allowed.aclose()
        await refused.aclose()
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


async def test_tls_verifies_the_url_host_not_the_connected_address():
    server_ctx, client_ctx = _tls_contexts()
    target = TargetServer()
    srv = await asyncio.start_server(target.handle, "127.0.0.1", 0, ssl=server_ctx)
    port = srv.sockets[0].getsockname()[1]
    client = build_http_client(allow_private=True, ssl_context=client_ctx)
    ex = HttpExecutor(allow_private=True, client=client)
    try:
        # localhost resolves to 127.0.0.1; the certificate is for "localhost": accepted.
        ok = await ex.execute(spec(f"https://localhost:{port}/ok"), make_context(LogRecorder()))
        # Same server by address: the certificate does not name 127.0.0.1: refused.
        bad = await ex.execute(spec(f"https://127.0.0.1:{port}/ok"), make_context(LogRecorder()))
    finally:
        await client.aclose()
        for handler in target.handlers:
            handler.cancel()
        srv.close()
        await srv.wait_closed()
    assert ok.outcome == "succeeded", ok.error
    assert target.requests[0].headers["host"] == f"localhost:{port}"
    assert bad.outcome == "failed" and not bad.retryable
    assert bad.error is not None and bad.error.startswith("TLS certificate not accepted")
