"""A raw graphql-transport-ws socket for tests that look at the protocol itself: frames,
acknowledgements, error messages and close codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

from tests.live import LiveServer

RUN_EVENTS = "subscription { runEvents { eventId kind } }"
JOB_EVENTS = "subscription { jobEvents { eventId kind } }"
ME = "query { me { id email role } }"


class Closed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class Socket:
    """`async with Socket(server) as ws: await ws.init(token)`."""

    def __init__(self, server: LiveServer) -> None:
        self.url = server.url.replace("http", "ws", 1) + "/graphql"
        self.ws: Any = None

    async def __aenter__(self) -> Socket:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.ws.close()

    async def send(self, message: object) -> None:
        """Send a frame; if the server closed already, `receive` reports how."""
        data = message if isinstance(message, str | bytes) else json.dumps(message)
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(data)

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        """The next message (pings answered); raises Closed when the server closed."""
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout)
            except ConnectionClosed as closed:
                frame = closed.rcvd
                raise Closed(frame.code if frame else None, frame.reason if frame else "") from None
            message: dict[str, Any] = json.loads(raw)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def init(self, token: str | None, timeout: float = 10) -> dict[str, Any]:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive(timeout)

    async def subscribe(self, operation_id: str, query: str, **variables: Any) -> None:
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables},
            }
        )

    async def closed(self, timeout: float = 10) -> Closed:
        """Wait for the server to close the socket; fail on any data message meanwhile."""
        try:
            while True:
                message = await self.receive(timeout)
                assert message.get("type") not in ("next",), f"unexpected data: {message}"
        except Closed as closed:
            return closed


async def request(socket: Socket, operation_id: str, query: str, **variables: Any) -> Any:
    """Run a query or mutation over the socket: its `next` (once the operation completed)
    or `error` message; raises Closed."""
    await socket.subscribe(operation_id, query, **variables)
    answer: Any = None
    while True:
        message = await socket.receive()
        if message.get("id") != operation_id:
            continue
        if message["type"] == "error":
            return message
        if message["type"] == "next":
            answer = message
        elif message["type"] == "complete":
            return answer
