"""The HTTP target the benchmarks call: `GET /` → 200 "ok"; `GET /slow?seconds=S` sleeps.

A bare ASGI app (no framework) under one uvicorn process, so the target costs as little
as possible and the figures measure the client side.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"2")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        query = parse_qs(scope.get("query_string", b"").decode())
        await asyncio.sleep(min(float(query.get("seconds", ["2"])[0]), 30))
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"ok"})
