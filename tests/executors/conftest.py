"""Fixtures for executor tests: a real HTTP server on loopback, an unused port, and the
HTTP executors (every HTTP executor test runs once per client: httpx and aiohttp)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from app.config import HttpClient
from tests.executors.support import TargetServer
from worker.executors.factory import HttpExecutorLike, make_http_executor

HTTP_CLIENTS: tuple[HttpClient, ...] = ("httpx", "aiohttp")

MakeExecutor = Callable[..., HttpExecutorLike]


@pytest.fixture
async def http_server() -> AsyncIterator[TargetServer]:
    server = TargetServer()
    v4 = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = v4.sockets[0].getsockname()[1]
    try:
        v6 = await asyncio.start_server(server.handle, "::1", 0)
        server.port_v6 = v6.sockets[0].getsockname()[1]
    except OSError:
        v6 = None
    try:
        yield server
    finally:
        for handler in server.handlers:
            handler.cancel()  # e.g. still sleeping in /slow for a client that gave up
        for srv in (v4, v6):
            if srv is not None:
                srv.close()
                await srv.wait_closed()
        await asyncio.gather(*server.handlers, return_exceptions=True)


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=HTTP_CLIENTS)
def http_client(request: pytest.FixtureRequest) -> HttpClient:
    """The HTTP client under test: each test that uses it runs once per client."""
    client: HttpClient = request.param
    return client


@pytest.fixture
async def make_executor(http_client: HttpClient) -> AsyncIterator[MakeExecutor]:
    """`make_executor(**options)`: an executor on the client under test, closed afterwards."""
    made: list[HttpExecutorLike] = []

    def make(**options: Any) -> HttpExecutorLike:
        executor = make_http_executor(http_client, **options)
        made.append(executor)
        return executor

    try:
        yield make
    finally:
        for executor in made:
            await executor.aclose()


@pytest.fixture
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every outgoing TCP connect, recorded; any to a non-loopback address is stopped before
    it leaves the machine (tests name public addresses to check the guard refuses them)."""
    attempts: list[str] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        attempts.append(host)
        try:
            loopback = ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConnectionRefusedError(111, f"test: no connection to {host} from here")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
