"""REST tests against a real `dts api` on loopback, on SQLite and on PostgreSQL.

One server per engine serves the whole session (starting one costs seconds); the `db`
fixture empties the tables before each test, so every test starts with no accounts and
its first registered user is the admin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.db.engine import Database
from app.db.models import User
from app.db.types import utcnow
from app.services.passwords import hash_password
from app.services.tokens import encode_access_token
from tests.factories import PASSWORD
from tests.live import LiveServer, dts_env

JWT_SECRET = dts_env("")["DTS_JWT_SECRET"]


def _serve(database_url: str) -> Iterator[LiveServer]:
    server = LiveServer("api", dts_env(database_url))
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


# One per engine, each torn down before its database is dropped.
@pytest.fixture(scope="session")
def sqlite_api(sqlite_url: str) -> Iterator[LiveServer]:
    yield from _serve(sqlite_url)


@pytest.fixture(scope="session")
def postgres_api(postgres_url: str) -> Iterator[LiveServer]:
    yield from _serve(postgres_url)


@pytest.fixture
async def api_url(engine_name: str, db: Database, request: pytest.FixtureRequest) -> str:
    """A live `dts api` on this test's engine; `db` has emptied the tables."""
    server: LiveServer = request.getfixturevalue(f"{engine_name}_api")
    assert server.proc.poll() is None, server.stop()
    return server.url


@dataclass
class Client:
    """An httpx client that may be signed in (`token`)."""

    http: httpx.AsyncClient
    token: str | None = None
    user: dict[str, Any] | None = None

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.http.request(method, path, headers=self._headers(headers), **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


@pytest.fixture
async def anon(api_url: str) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        yield Client(http)


async def sign_in(api_url: str, email: str, *, register: bool = True) -> Client:
    http = httpx.AsyncClient(base_url=api_url, timeout=30)
    credentials = {"email": email, "password": PASSWORD}
    if register:
        response = await http.post("/api/auth/register", json=credentials)
        assert response.status_code == 201, response.text
    response = await http.post("/api/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    body = response.json()
    return Client(http, body["token"], body["user"])


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


async def mint_clients(
    api_url: str, db: Database, password_hash: str, roles: dict[str, str]
) -> dict[str, Client]:
    """Accounts `<key>@example.com` with the given roles, written straight to the database,
    with access tokens minted with the server's secret (sign-up and sign-in have their own
    tests, and argon2 is slow)."""
    async with db.transaction() as session:
        rows = {
            key: User(email=f"{key}@example.com", password_hash=password_hash, role=role)
            for key, role in roles.items()
        }
        session.add_all(rows.values())
        await session.flush()
        accounts = {key: (row.id, row.email, row.role) for key, row in rows.items()}
    clients: dict[str, Client] = {}
    for key, (user_id, email, role) in accounts.items():
        token = encode_access_token(
            JWT_SECRET, user_id=user_id, role=role, now=utcnow(), lifetime=timedelta(minutes=15)
        )
        http = httpx.AsyncClient(base_url=api_url, timeout=30)
        clients[key] = Client(http, token, {"id": user_id, "email": email, "role": role})
    return clients


@pytest.fixture
async def users(api_url: str, db: Database, password_hash: str) -> AsyncIterator[dict[str, Client]]:
    """Signed-in clients: `admin`, members `a` and `b`, a `viewer` (<key>@example.com)."""
    roles = {"admin": "admin", "a": "member", "b": "member", "viewer": "viewer"}
    clients = await mint_clients(api_url, db, password_hash, roles)
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.http.aclose()


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of a REST error response (and the shape is checked on the way)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert "Traceback" not in response.text
    return dict(body["error"])
