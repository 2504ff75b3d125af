"""Websocket limits (issue 12, item 6) and errors inside subscriptions (item 7): operations
per socket, sockets per account and per address, init and idle timeouts, each a setting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.graphql.conftest import sign_up
from tests.graphql.ws_socket import JOB_EVENTS, ME, Closed, Socket, request
from tests.live import LiveServer, dts_env


@pytest.fixture
def limited(database_url: str, db: object) -> Iterator[LiveServer]:
    live = LiveServer(
        "up",
        dts_env(
            database_url,
            DTS_POLL_INTERVAL="0.05",
            DTS_WS_MAX_SUBSCRIPTIONS="3",
            DTS_WS_MAX_PER_USER="2",
            DTS_WS_MAX_PER_IP="4",
            DTS_WS_INIT_TIMEOUT="1",
            DTS_WS_IDLE_TIMEOUT="1.5",
        ),
    )
    try:
        live.wait_healthy()
        yield live
    finally:
        live.stop()


async def test_operations_per_socket_are_capped(limited: LiveServer) -> None:
    client = await sign_up(limited, "root@example.com")
    async with Socket(limited) as ws:
        assert (await ws.init(client.token))["type"] == "connection_ack"
        for n in range(3):
            await ws.subscribe(f"s{n}", JOB_EVENTS)
        await ws.subscribe("s3", JOB_EVENTS)
        refused = await ws.receive()
        assert refused["type"] == "error" and refused["id"] == "s3", refused
        error = refused["payload"][0]
        assert error["extensions"]["code"] == "too_many_subscriptions"
        assert "DTS_WS_MAX_SUBSCRIPTIONS" in error["message"]
        # The socket stays usable: completing one makes room for another.
        await ws.send({"type": "complete", "id": "s0"})
        answer = await request(ws, "me", ME)
        assert answer["type"] == "next" and answer["payload"]["data"]["me"]
    await client.close()


async def test_sockets_per_account_and_per_address_are_capped(limited: LiveServer) -> None:
    ann = await sign_up(limited, "ann@example.com")
    ben = await sign_up(limited, "ben@example.com")
    open_sockets: list[Socket] = []
    try:
        for token in (ann.token, ann.token):
            ws = await Socket(limited).__aenter__()
            open_sockets.append(ws)
            assert (await ws.init(token))["type"] == "connection_ack"
            await ws.subscribe("events", JOB_EVENTS)  # busy: not closed as idle
        async with Socket(limited) as third:
            with pytest.raises(Closed) as refused:
                await third.init(ann.token)
            assert refused.value.code == 4429
            assert "DTS_WS_MAX_PER_USER" in refused.value.reason
        for _ in range(2):
            ws = await Socket(limited).__aenter__()
            open_sockets.append(ws)
            assert (await ws.init(ben.token))["type"] == "connection_ack"
            await ws.subscribe("events", JOB_EVENTS)
        # Four sockets from 127.0.0.1: a fifth is refused before it may even sign in.
        async with Socket(limited) as fifth:
            with pytest.raises(Closed) as refused:
                await fifth.receive(timeout=5)
            assert refused.value.code == 4429
            assert "DTS_WS_MAX_PER_IP" in refused.value.reason
        # Closing one makes room again.
        await open_sockets.pop(0).__aexit__()
        await asyncio.sleep(0.3)
        async with Socket(limited) as again:
            assert (await again.init(ann.token))["type"] == "connection_ack"
    finally:
        for ws in open_sockets:
            await ws.__aexit__()
    await ann.close()
    await ben.close()


async def test_init_and_idle_timeouts(limited: LiveServer) -> None:
    client = await sign_up(limited, "root@example.com")
    async with Socket(limited) as silent:  # never sends connection_init
        started = time.monotonic()
        with pytest.raises(Closed) as closed:
            await silent.receive(timeout=10)
        assert closed.value.code == 4408
        assert time.monotonic() - started < 5

    async with Socket(limited) as idle, Socket(limited) as busy:
        assert (await idle.init(client.token))["type"] == "connection_ack"
        assert (await busy.init(client.token))["type"] == "connection_ack"
        await busy.subscribe("events", JOB_EVENTS)
        started = time.monotonic()
        with pytest.raises(Closed) as closed:
            await idle.receive(timeout=10)
        assert closed.value.code == 1000 and "idle" in closed.value.reason
        assert 1.0 < time.monotonic() - started < 6
        # The socket with a running subscription is still served.
        answer = await request(busy, "me", ME)
        assert answer["type"] == "next" and answer["payload"]["data"]["me"]
    await client.close()


async def test_errors_inside_subscriptions_carry_code_and_field(limited: LiveServer) -> None:
    client = await sign_up(limited, "root@example.com")
    async with Socket(limited) as ws:
        assert (await ws.init(client.token))["type"] == "connection_ack"
        answer = await request(
            ws, "bad-after", 'subscription { jobEvents(afterEventId: "abc") { eventId } }'
        )
        error = (answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"])[0]
        assert error["extensions"] == {"code": "validation_error", "field": "afterEventId"}
        answer = await request(
            ws, "missing", 'subscription { runEvents(jobId: "999999") { eventId } }'
        )
        error = (answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"])[0]
        assert error["extensions"]["code"] == "not_found"
        assert "field" in error["extensions"]
    await client.close()
    assert "Traceback" not in limited.read_output()
