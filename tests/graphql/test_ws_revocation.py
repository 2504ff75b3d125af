"""Open websockets follow the account: signed-in at `connection_init`, re-checked before
every operation and when the account changes, closed at token expiry (issue 12, item 1)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.db.models import User
from app.services.tokens import encode_access_token
from tests.gql_client import GQL
from tests.graphql.conftest import sign_up
from tests.graphql.ws_socket import JOB_EVENTS, ME, Closed, Socket, request
from tests.live import LiveServer, dts_env

SECRET = "test-secret-" + "x" * 32  # tests.live.dts_env
PASSWORD = "correct-horse-battery"

SET_ROLE = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }"
SET_DISABLED = """mutation($id: ID!, $disabled: Boolean!) {
  setUserDisabled(userId: $id, disabled: $disabled) { disabled }
}"""
CREATE_SCRIPT_JOB = """mutation {
  createJob(input: {name: "pwn", type: SCRIPT, schedule: {cron: "0 0 1 1 *"},
                    script: {command: "python3", args: ["scripts/hello.py"]}}) { id }
}"""
USERS = "query { users { id email role disabled } }"
CHANGE_PASSWORD = """mutation($old: String!, $new: String!) {
  changePassword(oldPassword: $old, newPassword: $new) { accessToken }
}"""
LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken }
}"""


def epoch_microseconds(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def mint(user_id: int, *, now: datetime | None = None, lifetime: float = 900) -> str:
    return encode_access_token(
        SECRET,
        user_id=user_id,
        role="member",
        now=now or datetime.now(UTC),
        lifetime=timedelta(seconds=lifetime),
    )


def forged(claims: dict[str, object]) -> str:
    """A correctly signed token with the claims given (as someone holding the key could)."""
    import jwt

    base = {"iss": "dts", "aud": "dts-api", "iat": int(time.time()), "jti": "x"}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


async def me_id(client: GQL) -> int:
    return int((await client(ME))["me"]["id"])


async def test_connection_init_needs_a_valid_token(server: LiveServer) -> None:
    admin = await sign_up(server, "root@example.com")
    user_id = await me_id(admin)
    refused = {
        "no token": None,
        "garbage": "not-a-jwt",
        "expired": mint(user_id, now=datetime.now(UTC) - timedelta(hours=1), lifetime=60),
        "huge sub": forged({"sub": "9" * 5000, "exp": int(time.time()) + 600}),
        "sub past 64 bits": forged({"sub": str(2**64), "exp": int(time.time()) + 600}),
        "sub with underscores": forged({"sub": "1_0", "exp": int(time.time()) + 600}),
    }
    for name, token in refused.items():
        async with Socket(server) as ws:
            with pytest.raises(Closed) as closed:
                await ws.init(token)
            assert closed.value.code == 4401, (name, closed.value)
            assert closed.value.reason, name
    # The same tokens over HTTP: 200 with an `unauthenticated` GraphQL error, never a 500.
    async with httpx.AsyncClient(base_url=server.url) as http:
        for name, token in refused.items():
            if token is None:
                continue
            response = await http.post(
                "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200, (name, response.text)
            assert response.json()["errors"][0]["extensions"]["code"] == "unauthenticated"
            rest = await http.get("/api/jobs", headers={"Authorization": f"Bearer {token}"})
            assert rest.status_code == 401, (name, rest.text)
    async with Socket(server) as ws:
        ack = await ws.init(admin.token)
        assert ack["type"] == "connection_ack"
        assert ack["payload"]["userId"] == str(user_id)
        assert ack["payload"]["expiresAt"]
    await admin.close()
    assert "Traceback" not in server.read_output()


MALFORMED: list[object] = [
    "[]",
    "null",
    "42",
    {"type": 7},
    {"type": "connection_init", "payload": "x"},
    {"type": "subscribe", "id": 1, "payload": {"query": ME}},
    {"type": "subscribe", "id": "", "payload": {"query": ME}},
    {"type": "subscribe", "id": "x" * 200, "payload": {"query": ME}},
    {"type": "subscribe", "id": "1", "payload": "query { me { id } }"},
    {"type": "subscribe", "id": "1", "payload": {"query": 5}},
    {"type": "subscribe", "id": "1", "payload": {"query": ME, "variables": []}},
    {"type": "subscribe", "id": "1", "payload": {"query": ME, "operationName": 3}},
    {"type": "complete"},
    {"type": "ping", "payload": [1]},
]


async def test_malformed_frames_close_4400_without_a_traceback(server: LiveServer) -> None:
    client = await sign_up(server, "root@example.com")
    for frame in MALFORMED:
        async with Socket(server) as ws:
            if not (isinstance(frame, dict) and frame.get("type") == "connection_init"):
                assert (await ws.init(client.token))["type"] == "connection_ack"
            await ws.send(frame)
            with pytest.raises(Closed) as closed:
                await ws.receive()
            assert closed.value.code == 4400, (frame, closed.value)
    await client.close()
    assert "Traceback" not in server.read_output()


async def test_demoted_disabled_admin_cannot_use_an_old_socket(server: LiveServer) -> None:
    """The attack from the issue: an admin's socket stays open while they are disabled and
    demoted; on it they try to re-enable and re-promote themselves."""
    root = await sign_up(server, "root@example.com")
    mallory = await sign_up(server, "mallory@example.com")
    mallory_id = await me_id(mallory)
    await root(SET_ROLE, id=str(mallory_id), role="ADMIN")
    async with Socket(server) as ws:
        assert (await ws.init(mallory.token))["type"] == "connection_ack"
        answer = await request(ws, "1", USERS)  # the socket works while mallory is admin
        assert answer["type"] == "next" and answer["payload"]["data"]["users"]

        await root(SET_DISABLED, id=str(mallory_id), disabled=True)
        await root(SET_ROLE, id=str(mallory_id), role="MEMBER")
        await ws.subscribe("2", SET_DISABLED, id=str(mallory_id), disabled=False)
        await ws.subscribe("3", SET_ROLE, id=str(mallory_id), role="ADMIN")
        await ws.subscribe("4", CREATE_SCRIPT_JOB)
        closed = await ws.closed()
        assert closed.code == 4403, closed
    users = {u["email"]: u for u in (await root(USERS))["users"]}
    assert users["mallory@example.com"]["disabled"] is True
    assert users["mallory@example.com"]["role"] == "MEMBER"
    jobs = (await root("query { jobs { edges { node { name } } } }"))["jobs"]["edges"]
    assert jobs == []
    await root.close()
    await mallory.close()


async def test_the_next_operation_on_a_socket_rechecks_the_account(
    server: LiveServer, db: Database
) -> None:
    """Before every subscribe the account is re-read: a change made straight in the
    database (no feed event, e.g. by another tool) is seen by the next operation."""
    root = await sign_up(server, "root@example.com")
    bob = await sign_up(server, "bob@example.com")
    bob_id = await me_id(bob)
    async with Socket(server) as ws:
        assert (await ws.init(bob.token))["type"] == "connection_ack"
        async with db.transaction() as session:
            user = await session.get(User, bob_id)
            assert user is not None
            user.disabled = True
        await ws.subscribe("1", ME)
        closed = await ws.closed()
        assert closed.code == 4403, closed
        assert "disabled" in closed.reason
    await root.close()
    await bob.close()


async def test_account_changes_close_open_sockets_at_once(server: LiveServer) -> None:
    """No operation needed: the change feed's `user.changed` re-checks open sockets."""
    root = await sign_up(server, "root@example.com")
    root_id = await me_id(root)
    carol = await sign_up(server, "carol@example.com")
    carol_id = await me_id(carol)
    await root(SET_ROLE, id=str(carol_id), role="ADMIN")

    async def open_socket(token: str | None) -> Socket:
        ws = await Socket(server).__aenter__()
        assert (await ws.init(token))["type"] == "connection_ack"
        await ws.subscribe("events", JOB_EVENTS)
        return ws

    # Demotion stops an admin's subscriptions (which see every user's jobs).
    ws = await open_socket(carol.token)
    started = time.monotonic()
    await root(SET_ROLE, id=str(carol_id), role="MEMBER")
    closed = await ws.closed(timeout=10)
    assert closed.code == 4403 and "role" in closed.reason, closed
    assert time.monotonic() - started < 5
    await ws.__aexit__()

    # Promotion gives more rights: the socket stays open, and serves the new role.
    ws = await open_socket(carol.token)
    answer = await request(ws, "me-before", ME)
    assert answer["payload"]["data"]["me"]["role"] == "MEMBER"
    await root(SET_ROLE, id=str(carol_id), role="ADMIN")
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=1.5)
    answer = await request(ws, "users", USERS)
    assert answer["type"] == "next" and answer["payload"]["data"]["users"]
    answer = await request(ws, "me-after", ME)
    assert answer["payload"]["data"]["me"]["role"] == "ADMIN"
    await ws.__aexit__()

    # Disabling.
    ws = await open_socket(carol.token)
    await root(SET_DISABLED, id=str(carol_id), disabled=True)
    closed = await ws.closed(timeout=10)
    assert closed.code == 4403, closed
    await ws.__aexit__()
    await root(SET_DISABLED, id=str(carol_id), disabled=False)

    # Signing out everywhere (REST), from another session of the same account.
    ws = await open_socket(root.token)
    other = GQL(server.url)
    other.token = (await other(LOGIN, email="root@example.com", password=PASSWORD))["login"][
        "accessToken"
    ]
    response = await other.http.post(
        "/api/auth/logout",
        json={"everywhere": True},
        headers={"Authorization": f"Bearer {other.token}"},
    )
    assert response.status_code < 300, response.text
    closed = await ws.closed(timeout=10)
    assert closed.code == 4403, closed
    await ws.__aexit__()
    async with Socket(server) as fresh:
        with pytest.raises(Closed) as refused:
            await fresh.init(root.token)  # the old token no longer opens a socket either
        assert refused.value.code == 4401
    assert root_id
    await root.close()
    await carol.close()
    await other.close()


async def test_revoking_an_api_token_closes_its_sockets(server: LiveServer) -> None:
    root = await sign_up(server, "root@example.com")
    created = await root(
        'mutation { createApiToken(name: "ci", scope: READ) { token apiToken { id } } }'
    )
    token = created["createApiToken"]["token"]
    async with Socket(server) as ws:
        assert (await ws.init(token))["type"] == "connection_ack"
        await ws.subscribe("events", JOB_EVENTS)
        await root(
            "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
            id=created["createApiToken"]["apiToken"]["id"],
        )
        closed = await ws.closed(timeout=10)
        assert closed.code == 4403 and "revoked" in closed.reason, closed
    await root.close()


async def test_password_change_revokes_tokens_of_the_same_second(
    server: LiveServer, db: Database
) -> None:
    root = await sign_up(server, "root@example.com")
    root_id = await me_id(root)
    async with Socket(server) as ws:
        assert (await ws.init(root.token))["type"] == "connection_ack"
        await ws.subscribe("events", JOB_EVENTS)
        changed = await root(CHANGE_PASSWORD, old=PASSWORD, new="another-horse-battery")
        closed = await ws.closed(timeout=10)
        assert closed.code == 4403, closed
    async with db.session() as session:
        cutoff = await session.scalar(select(User.tokens_valid_after).where(User.id == root_id))
    assert cutoff is not None
    cutoff_us = epoch_microseconds(cutoff)
    # A token issued a microsecond before the change, in the same second, is refused…
    before = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=cutoff_us - 1)
    assert int(before.timestamp()) == int(cutoff.timestamp()) or cutoff.microsecond == 0
    same_second = mint(root_id, now=before)
    async with Socket(server) as ws:
        with pytest.raises(Closed) as refused:
            await ws.init(same_second)
        assert refused.value.code == 4401
    stale = GQL(server.url, same_second)
    body = await stale.raw(ME)
    assert body["errors"][0]["extensions"]["code"] == "unauthenticated"
    await stale.close()
    # …while the token the change handed out (issued at that very instant) works.
    fresh = changed["changePassword"]["accessToken"]
    async with Socket(server) as ws:
        assert (await ws.init(fresh))["type"] == "connection_ack"
    claims = json.loads(base64.urlsafe_b64decode(fresh.split(".")[1] + "=="))
    assert claims["iat_us"] == cutoff_us
    await root.close()


async def test_socket_closes_at_token_expiry_unless_refreshed_by_ping(
    server: LiveServer,
) -> None:
    root = await sign_up(server, "root@example.com")
    root_id = await me_id(root)
    short = mint(root_id, lifetime=2)
    async with Socket(server) as ws:
        ack = await ws.init(short)
        assert ack["type"] == "connection_ack"
        await ws.subscribe("events", JOB_EVENTS)
        started = time.monotonic()
        closed = await ws.closed(timeout=10)
        assert closed.code == 4401 and "expired" in closed.reason, closed
        assert time.monotonic() - started < 6

    async with Socket(server) as ws:
        assert (await ws.init(mint(root_id, lifetime=2)))["type"] == "connection_ack"
        await ws.subscribe("events", JOB_EVENTS)
        await ws.send({"type": "ping", "payload": {"authorization": f"Bearer {root.token}"}})
        pong = await ws.receive()
        assert pong["type"] == "pong", pong
        assert pong["payload"]["expiresAt"] > datetime.now(UTC).isoformat()
        await asyncio.sleep(3.5)  # past the first token's expiry
        answer = await request(ws, "me", ME)
        assert answer["type"] == "next" and answer["payload"]["data"]["me"]["id"] == str(root_id)

        # A ping with another account's token is refused: a socket keeps its account.
        other = await sign_up(server, "other@example.com")
        await ws.send({"type": "ping", "payload": {"authorization": f"Bearer {other.token}"}})
        closed = await ws.closed()
        assert closed.code == 4403, closed
        await other.close()
    await root.close()


async def test_a_change_made_through_another_api_process_reaches_the_socket(
    server: LiveServer, database_url: str
) -> None:
    """Two API processes on one database: the feed carries the change to the other one."""
    other_api = LiveServer("api", dts_env(database_url, DTS_POLL_INTERVAL="0.05"))
    try:
        other_api.wait_healthy()
        root = await sign_up(server, "root@example.com")
        dave = await sign_up(server, "dave@example.com")
        dave_id = await me_id(dave)
        async with Socket(other_api) as ws:
            assert (await ws.init(dave.token))["type"] == "connection_ack"
            await ws.subscribe("events", JOB_EVENTS)
            await root(SET_DISABLED, id=str(dave_id), disabled=True)  # through `server`
            closed = await ws.closed(timeout=10)
            assert closed.code == 4403 and "disabled" in closed.reason, closed
        await root.close()
        await dave.close()
    finally:
        other_api.stop()
