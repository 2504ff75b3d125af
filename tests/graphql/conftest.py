"""Live `dts up` servers (API + embedded worker) for GraphQL tests, on both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.gql_client import GQL
from tests.live import LiveServer, dts_env
from tests.worker.conftest import target  # noqa: F401  (re-exported fixture)


@pytest.fixture
def server(database_url: str, db: object) -> Iterator[LiveServer]:
    live = LiveServer(
        "up",
        dts_env(
            database_url,
            DTS_HTTP_ALLOW_PRIVATE="true",
            DTS_POLL_INTERVAL="0.05",
            DTS_LEASE_SECONDS="5",
        ),
    )
    try:
        live.wait_healthy()
        yield live
    finally:
        live.stop()


@pytest.fixture
async def anon(server: LiveServer) -> AsyncIterator[GQL]:
    client = GQL(server.url)
    yield client
    await client.close()


SIGN_UP = """mutation($email: String!, $password: String!) {
  register(email: $email, password: $password) { accessToken refreshToken user { id role } }
}"""


async def sign_up(server: LiveServer, email: str) -> GQL:
    client = GQL(server.url)
    data = await client(SIGN_UP, email=email, password="correct-horse-battery")
    client.token = data["register"]["accessToken"]
    return client
