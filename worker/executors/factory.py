"""The worker's HTTP executor, by name: `make_http_executor(settings.http_client, ...)`.

Each client is imported only when chosen, so a worker running aiohttp never loads httpx
(nor the reverse): about 10 MB of RSS and some start-up time each.
"""

from __future__ import annotations

import ssl
from typing import Any

from app.config import HttpClient
from worker.executors.http_common import DEFAULT_USER_AGENT, HttpExecutorBase, Resolver

__all__ = ["DEFAULT_HTTP_CLIENT", "HttpClient", "HttpExecutorLike", "make_http_executor"]

DEFAULT_HTTP_CLIENT: HttpClient = "aiohttp"

# Both executors: `execute(spec, ctx) -> ExecutionResult` and `aclose()` (base.Executor).
HttpExecutorLike = HttpExecutorBase[Any]


def make_http_executor(
    client: HttpClient = DEFAULT_HTTP_CLIENT,
    *,
    allow_private: bool = False,
    user_agent: str = DEFAULT_USER_AGENT,
    max_body_log: int = 4096,
    max_connections: int = 64,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> HttpExecutorLike:
    """An SSRF-guarded HTTP executor on `client` ("aiohttp" or "httpx"), same behaviour
    either way. `resolver` and `ssl_context` are test hooks (a fake DNS, a private CA)."""
    options: dict[str, Any] = {
        "allow_private": allow_private,
        "user_agent": user_agent,
        "max_body_log": max_body_log,
        "max_connections": max_connections,
        "resolver": resolver,
        "ssl_context": ssl_context,
    }
    if client == "aiohttp":
        from worker.executors.http_aiohttp import AiohttpExecutor

        return AiohttpExecutor(**options)
    if client == "httpx":
        from worker.executors.http import HttpExecutor

        return HttpExecutor(**options)
    raise ValueError(f"unknown HTTP client {client!r}; expected 'aiohttp' or 'httpx'")
