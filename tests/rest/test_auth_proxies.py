"""The client address behind reverse proxies (DTS_TRUSTED_PROXIES), on a real `dts api`.

The address feeds the sign-in limits and the audit log, so a client must not be able to
choose it: X-Forwarded-For counts only when the peer is a trusted proxy, and then the
client is the right-most hop that is not one (each proxy appends the address it saw; what
is left of that was written by the client and proves nothing).

On loopback the test client *is* the peer, so it plays the nearest proxy: it sends the
header that proxy would have forwarded.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.db.models import AuditEntry, RateLimit
from tests.factories import PASSWORD
from tests.live import LiveServer, dts_env

TRUSTED = "127.0.0.1, 10.0.0.0/8"


def _serve(database_url: str) -> Iterator[LiveServer]:
    server = LiveServer("api", dts_env(database_url, DTS_TRUSTED_PROXIES=TRUSTED))
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sqlite_proxied_api(sqlite_url: str) -> Iterator[LiveServer]:
    yield from _serve(sqlite_url)


@pytest.fixture(scope="module")
def postgres_proxied_api(postgres_url: str) -> Iterator[LiveServer]:
    yield from _serve(postgres_url)


@pytest.fixture
def proxied_url(engine_name: str, db: Database, request: pytest.FixtureRequest) -> str:
    server: LiveServer = request.getfixturevalue(f"{engine_name}_proxied_api")
    assert server.proc.poll() is None, server.stop()
    return server.url


async def register_from(url: str, email: str, forwarded_for: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/api/auth/register",
            json={"email": email, "password": PASSWORD},
            headers={"X-Forwarded-For": forwarded_for},
        )
    assert response.status_code == 201, response.text


async def audit_ips(db: Database) -> dict[str, str | None]:
    async with db.session() as session:
        entries = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.registered")
        )
        return {entry.detail["email"]: entry.ip for entry in entries}


async def test_without_trusted_proxies_forwarded_for_is_ignored(api_url: str, db: Database) -> None:
    await register_from(api_url, "ada@example.com", "203.0.113.9")
    assert (await audit_ips(db))["ada@example.com"] == "127.0.0.1"


async def test_a_spoofed_leftmost_hop_does_not_change_the_address(
    proxied_url: str, db: Database
) -> None:
    # The client wrote 6.6.6.6; the proxy on 127.0.0.1 appended the address it saw.
    await register_from(proxied_url, "ada@example.com", "6.6.6.6, 203.0.113.9")
    await register_from(proxied_url, "bob@example.com", "203.0.113.10")
    ips = await audit_ips(db)
    assert ips["ada@example.com"] == "203.0.113.9"
    assert ips["bob@example.com"] == "203.0.113.10"


async def test_a_chain_of_trusted_proxies_is_walked_from_the_right(
    proxied_url: str, db: Database
) -> None:
    # client → 10.1.2.3 (trusted) → 10.4.5.6 (trusted) → 127.0.0.1 (trusted) → dts
    await register_from(proxied_url, "ada@example.com", "6.6.6.6, 198.51.100.4, 10.4.5.6")
    assert (await audit_ips(db))["ada@example.com"] == "198.51.100.4"


async def test_the_sign_in_limit_counts_the_real_address_whatever_the_client_writes(
    proxied_url: str, db: Database
) -> None:
    async with httpx.AsyncClient(base_url=proxied_url, timeout=30) as http:
        for n in range(3):
            response = await http.post(
                "/api/auth/login",
                json={"email": f"user{n}@example.com", "password": "not the password"},
                headers={"X-Forwarded-For": f"6.6.6.{n}, 203.0.113.9"},
            )
            assert response.status_code == 401, response.text
    async with db.session() as session:
        ip_counters = (
            await session.execute(
                select(RateLimit.key, RateLimit.hits).where(RateLimit.key.like("login:ip:%"))
            )
        ).all()
    assert [(key, hits) for key, hits in ip_counters] == [("login:ip:203.0.113.9", 3)]


async def test_guesses_from_one_address_do_not_lock_the_owner_out(
    proxied_url: str, db: Database
) -> None:
    """Sign-in delays are per (account, address): the attacker waits, the owner does not."""
    owner = {"email": "admin@example.com", "password": PASSWORD}
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    async with httpx.AsyncClient(base_url=proxied_url, timeout=30) as http:
        assert (await http.post("/api/auth/register", json=owner)).status_code == 201
        statuses = []
        for _ in range(10):
            response = await http.post(
                "/api/auth/login", json={**owner, "password": "a wrong guess"}, headers=attacker
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[-1] == 429 and statuses.count(401) >= 5, statuses
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["error"]["code"] == "rate_limited"
        signed_in = await http.post(
            "/api/auth/login", json=owner, headers={"X-Forwarded-For": "198.51.100.7"}
        )
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["user"]["role"] == "admin"
