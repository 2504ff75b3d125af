"""Fixtures for executor tests: a real HTTP server on loopback, an unused port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from tests.executors.support import TargetServer


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
