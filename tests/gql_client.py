"""A small real GraphQL client for tests: HTTP POST, and graphql-transport-ws subscriptions."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets


def register_mutation(email: str, password: str = "correct-horse-battery") -> str:
    return (
        f'mutation {{ register(email: "{email}", password: "{password}") '
        "{ accessToken refreshToken } }"
    )


class GraphQLError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0].get("message"))
        self.errors = errors

    @property
    def code(self) -> str | None:
        return (self.errors[0].get("extensions") or {}).get("code")

    @property
    def field(self) -> str | None:
        return (self.errors[0].get("extensions") or {}).get("field")


class GQL:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    async def raw(self, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.raw(query, **variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    def subscribe(self, query: str, **variables: Any) -> Subscription:
        return Subscription(
            self.base_url.replace("http", "ws", 1) + "/graphql", query, variables, self.token
        )


class Subscription:
    """`async with client.subscribe(q) as sub: await sub.next()` over graphql-transport-ws."""

    _ids = itertools.count(1)

    def __init__(self, url: str, query: str, variables: dict[str, Any], token: str | None) -> None:
        self.url = url
        self.query = query
        self.variables = variables
        self.token = token
        self.id = str(next(self._ids))
        self.ws: Any = None
        self.completed = False

    async def __aenter__(self) -> Subscription:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        params = {"authorization": f"Bearer {self.token}"} if self.token else {}
        await self.ws.send(json.dumps({"type": "connection_init", "payload": params}))
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await self.ws.send(
            json.dumps(
                {
                    "id": self.id,
                    "type": "subscribe",
                    "payload": {"query": self.query, "variables": self.variables},
                }
            )
        )
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.ws.close()

    async def next(self, timeout: float = 15) -> dict[str, Any]:
        """The next `data` payload; raises GraphQLError on an error message."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            kind = message.get("type")
            if kind == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            if kind == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    raise GraphQLError(payload["errors"])
                return payload["data"]
            if kind == "error":
                raise GraphQLError(message["payload"])
            if kind == "complete":
                self.completed = True
                raise StopAsyncIteration

    async def collect(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        return [await self.next(timeout) for _ in range(count)]

    async def stream(self, timeout: float = 15) -> AsyncIterator[dict[str, Any]]:
        while True:
            try:
                yield await self.next(timeout)
            except StopAsyncIteration:
                return
