"""graphql-transport-ws with dts's rules: signed-in sockets, identities kept current, limits.

Strawberry's handler speaks the protocol; this subclass adds what a scheduler that runs
commands on its hosts needs:

- `connection_init` must carry a valid credential (`{"authorization": "Bearer …"}`);
  without one the socket closes with 4401. Malformed frames close it with 4400.
- The caller is re-read from the database before every `subscribe` (the protocol runs
  queries and mutations that way too), and whenever the change feed says the account
  changed (`user.changed`): disabled, signed out everywhere, password changed or reset,
  an API token revoked, a role that gives fewer rights → close 4403. A credential that
  ran out → 4401; the socket also closes by itself when its token expires, unless the
  client sends a `ping` whose payload carries a fresh token (`{"authorization": …}`).
- Limits, each a setting: operations per socket, sockets per account and per client
  address, time to `connection_init`, and idle time without any running operation.
- Errors inside subscriptions carry `extensions.code` and `extensions.field`, like
  queries and mutations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError

from app.config import Settings
from app.domain.errors import DtsError, TokenExpired
from app.feed.events import ACCOUNT_CHANGED
from app.feed.hub import FeedHub
from app.graphql.context import Context
from app.graphql.errors import convert_error
from app.graphql.loaders import Loaders
from app.services.access import Principal

if TYPE_CHECKING:
    from strawberry.schema.schema import StreamResult
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
    from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
        ConnectionInitMessage,
        Message,
        PingMessage,
        SubscribeMessage,
    )

log = logging.getLogger("dts.websocket")

# Close codes (graphql-transport-ws and its conventions).
BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
TOO_MANY = 4429
SERVER_ERROR = 4500
IDLE = 1000  # a normal closure: nothing was running; clients reconnect when they need to

MAX_OPERATION_ID = 128
# The protocol's close reason must fit in a control frame (123 bytes of UTF-8).
MAX_REASON_BYTES = 123
# Fewer rights: anything but becoming an admin (viewers read all but change nothing,
# members change only their own).
GROWS_TO = "admin"


def close_reason(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= MAX_REASON_BYTES:
        return text
    return data[: MAX_REASON_BYTES - 3].decode("utf-8", "ignore") + "..."


def frame_problem(message: object) -> str | None:
    """What is wrong with a client frame's shape, or None when it is well formed."""
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "a message needs a string 'type'"
    if kind in ("subscribe", "complete"):
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            return f"{kind}: 'id' must be a non-empty string"
        if len(operation_id) > MAX_OPERATION_ID:
            return f"{kind}: 'id' is longer than {MAX_OPERATION_ID} characters"
    if kind == "subscribe":
        payload = message.get("payload")
        if not isinstance(payload, dict):
            return "subscribe: 'payload' must be an object"
        if not isinstance(payload.get("query"), str):
            return "subscribe: 'payload.query' must be a string"
        if not isinstance(payload.get("variables"), dict | None):
            return "subscribe: 'payload.variables' must be an object or null"
        if not isinstance(payload.get("operationName"), str | None):
            return "subscribe: 'payload.operationName' must be a string or null"
        if not isinstance(payload.get("extensions"), dict | None):
            return "subscribe: 'payload.extensions' must be an object or null"
    if kind in ("connection_init", "ping", "pong") and not isinstance(
        message.get("payload"), dict | None
    ):
        return f"{kind}: 'payload' must be an object or null"
    return None


class SocketRegistry:
    """The open sockets of one API process, by account and by client address.

    It enforces the per-account and per-address caps, and while any socket is signed in
    it follows the change feed for `user.changed`, re-checking that user's sockets.
    """

    def __init__(self) -> None:
        self._by_user: dict[int, set[DtsTransportWSHandler]] = {}
        self._by_address: dict[str, int] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._watch_from = 0
        # user id → id of the newest `user.changed` event seen for them
        self._changed: dict[int, int] = {}

    # -- addresses
    def open_from(self, address: str, limit: int) -> bool:
        count = self._by_address.get(address, 0)
        if count >= limit:
            return False
        self._by_address[address] = count + 1
        return True

    def closed_from(self, address: str) -> None:
        count = self._by_address.get(address, 0) - 1
        if count > 0:
            self._by_address[address] = count
        else:
            self._by_address.pop(address, None)

    # -- accounts
    def sign_in(self, handler: DtsTransportWSHandler, user_id: int, limit: int) -> bool:
        sockets = self._by_user.setdefault(user_id, set())
        if len(sockets) >= limit:
            if not sockets:
                del self._by_user[user_id]
            return False
        sockets.add(handler)
        return True

    def sign_out(self, handler: DtsTransportWSHandler, user_id: int) -> None:
        sockets = self._by_user.get(user_id)
        if sockets is not None:
            sockets.discard(handler)
            if not sockets:
                del self._by_user[user_id]
        if not self._by_user and self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
            self._changed.clear()

    def count_for(self, user_id: int) -> int:
        return len(self._by_user.get(user_id, ()))

    def watch(self, feed: FeedHub) -> None:
        """Follow the feed while sockets are signed in (started by the first one)."""
        if self._watcher is None:
            self._watch_from = feed.last_id
            self._watcher = asyncio.create_task(self._follow(feed), name="ws-account-watch")

    def changed_since(self, user_id: int, position: int) -> bool:
        """Whether the account may have changed after feed position `position` unseen:
        a `user.changed` for it arrived since, or the watcher started after it."""
        return self._watch_from > position or self._changed.get(user_id, 0) > position

    async def _follow(self, feed: FeedHub) -> None:
        position = self._watch_from
        while True:
            try:
                async for event in feed.subscribe(position):
                    position = event.id
                    if event.kind != ACCOUNT_CHANGED:
                        continue
                    user_id = event.payload.get("userId")
                    if not isinstance(user_id, int):
                        continue
                    self._changed[user_id] = event.id
                    for handler in list(self._by_user.get(user_id, ())):
                        handler.spawn(handler.recheck(), "ws-recheck")
            except Exception as error:  # the database may be away; operations still re-check
                log.warning("websocket account watch: feed read failed (%s); retrying", error)
                await asyncio.sleep(1)


class DtsTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """One websocket's protocol handler (see the module docstring)."""

    context: Context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services = self.context.services
        self.settings: Settings = services.settings
        self.registry: SocketRegistry = getattr(self.view, "sockets")  # noqa: B009
        self.principal: Principal | None = None
        self.authorization: str | None = None
        self.closing = False
        self._address = self.context.ip or "unknown"
        self._counted_address = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._expiry: asyncio.Task[None] | None = None
        self._idle_since = time.monotonic()
        # Read by the init timer, which starts in `handle`.
        self.connection_init_wait_timeout = timedelta(seconds=self.settings.ws_init_timeout)

    # ------------------------------------------------------------------ lifecycle

    async def handle(self) -> None:
        if not self.registry.open_from(self._address, self.settings.ws_max_per_ip):
            await self.websocket.close(
                TOO_MANY,
                close_reason(
                    f"too many open websockets from this address "
                    f"(DTS_WS_MAX_PER_IP={self.settings.ws_max_per_ip})"
                ),
            )
            return
        self._counted_address = True
        self.spawn(self._watch_idle(), "ws-idle")
        try:
            await super().handle()
        finally:
            await self._release()

    async def _release(self) -> None:
        self.closing = True
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        if self.principal is not None:
            self.registry.sign_out(self, self.principal.user_id)
        if self._counted_address:
            self._counted_address = False
            self.registry.closed_from(self._address)

    def spawn(self, coroutine: Any, name: str) -> None:
        if self.closing:
            coroutine.close()
            return
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._task_done)

    async def close(self, code: int, reason: str) -> None:
        """Stop every operation, then close the socket (once)."""
        if self.closing:
            return
        self.closing = True
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(code=code, reason=close_reason(reason))

    # ------------------------------------------------------------------ messages

    async def handle_message(self, message: Message) -> None:
        if self.closing:
            return
        problem = frame_problem(message)
        if problem is not None:
            await self.close(BAD_REQUEST, problem)
            return
        try:
            await super().handle_message(message)
        except Exception:
            log.exception("websocket: unexpected error handling a %r message", message["type"])
            await self.close(SERVER_ERROR, "internal error; it was logged")

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        if self.connection_init_received:
            await self.close(TOO_MANY, "Too many initialisation requests")
            return
        self.connection_init_received = True
        payload = message.get("payload") or {}
        self.context.connection_params = cast("dict[str, Any]", payload)
        feed = self.context.services.feed
        position = feed.last_id  # before the account is read: see `changed_since`
        try:
            principal = await self.context.principal()
        except DtsError as error:
            await self.close(UNAUTHORIZED, error.message)
            return
        if principal is None:
            await self.close(
                UNAUTHORIZED,
                "sign in first: send {authorization: 'Bearer <token>'} in connection_init",
            )
            return
        if not self.registry.sign_in(self, principal.user_id, self.settings.ws_max_per_user):
            await self.close(
                TOO_MANY,
                f"too many open websockets for this account "
                f"(DTS_WS_MAX_PER_USER={self.settings.ws_max_per_user})",
            )
            return
        self.principal = principal
        self.authorization = self.context.authorization()
        self.registry.watch(feed)
        self._schedule_expiry()
        await self.send_message(
            {"type": "connection_ack", "payload": self._session_payload(principal)}
        )
        self.connection_acknowledged = True
        if self.registry.changed_since(principal.user_id, position):
            await self.recheck()

    async def handle_ping(self, message: PingMessage) -> None:
        """A ping may carry a fresh token: the socket then lives on past the old one's expiry."""
        payload = message.get("payload") or {}
        fresh = next(
            (payload[k] for k in ("authorization", "Authorization", "token") if k in payload),
            None,
        )
        if fresh is None or not self.connection_acknowledged:
            await self.send_message({"type": "pong"})
            return
        if not isinstance(fresh, str) or not fresh.strip():
            await self.close(BAD_REQUEST, "ping: 'payload.authorization' must be a token")
            return
        authorization = fresh if " " in fresh.strip() else f"Bearer {fresh}"
        if not await self.recheck(authorization):
            return
        assert self.principal is not None
        await self.send_message({"type": "pong", "payload": self._session_payload(self.principal)})

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:
            await self.close(UNAUTHORIZED, "Unauthorized: send connection_init first")
            return
        if message["id"] not in self.operations:
            if not await self.recheck():
                return
            # Each operation reads afresh: DataLoaders cache for as long as they live.
            self.context.loaders = Loaders(self.context.services)
            limit = self.settings.ws_max_subscriptions
            if len(self.operations) >= limit:
                error = GraphQLError(
                    f"this socket already runs {limit} operations "
                    f"(DTS_WS_MAX_SUBSCRIPTIONS); complete one first or open another socket",
                    extensions={"code": "too_many_subscriptions", "field": None},
                )
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
        await super().handle_subscribe(message)

    # ------------------------------------------------------------------ identity

    async def recheck(self, authorization: str | None = None) -> bool:
        """Re-read the caller (with a new credential, if given); close the socket if its
        rights shrank. True when the socket stays open."""
        if self.closing or self.principal is None:
            return not self.closing
        current = self.principal
        credential = authorization or self.authorization
        try:
            fresh = await self.context.services.auth.authenticate(credential)
        except TokenExpired as error:
            await self.close(UNAUTHORIZED, error.message)
            return False
        except DtsError as error:
            await self.close(UNAUTHORIZED if authorization else FORBIDDEN, error.message)
            return False
        except Exception:
            log.exception("websocket: cannot re-check the caller")
            await self.close(SERVER_ERROR, "cannot check your session now; reconnect")
            return False
        if self.closing:
            return False
        if fresh is None or fresh.user_id != current.user_id:
            await self.close(FORBIDDEN, "a websocket stays with the account that opened it")
            return False
        if fresh.role != current.role and fresh.role != GROWS_TO:
            await self.close(FORBIDDEN, f"your role changed to {fresh.role}; reconnect to continue")
            return False
        self.principal = fresh
        if authorization is not None:
            self.authorization = authorization
        self.context.reauthenticated(fresh, authorization)
        if fresh.expires_at != current.expires_at:
            self._schedule_expiry()
        return True

    def _session_payload(self, principal: Principal) -> dict[str, object]:
        expires = principal.expires_at
        return {
            "userId": str(principal.user_id),
            "role": principal.role,
            "expiresAt": expires.isoformat() if expires else None,
        }

    def _schedule_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self.principal is None or self.principal.expires_at is None:
            return
        remaining = self.principal.expires_at - self.context.services.clock()
        self._expiry = asyncio.create_task(self._expire_after(remaining), name="ws-expiry")
        self._tasks.add(self._expiry)
        self._expiry.add_done_callback(self._tasks.discard)

    async def _expire_after(self, remaining: timedelta) -> None:
        await asyncio.sleep(max(0.0, remaining.total_seconds()))
        await self.close(
            UNAUTHORIZED,
            "token expired; send a ping with a fresh token before expiry, or reconnect",
        )

    async def _watch_idle(self) -> None:
        limit = self.settings.ws_idle_timeout
        step = min(max(limit / 5, 0.05), 5.0)
        while not self.closing:
            await asyncio.sleep(step)
            now = time.monotonic()
            if self.operations or not self.connection_acknowledged:
                self._idle_since = now  # the init timeout covers sockets not yet signed in
            elif now - self._idle_since >= limit:
                await self.close(IDLE, f"idle: no operation for {limit:g} s (DTS_WS_IDLE_TIMEOUT)")

    # ------------------------------------------------------------------ results

    async def _send_result_stream(
        self, operation: Operation[Context, None], result_source: StreamResult
    ) -> None:
        # Strawberry formats errors of streamed results as they are; ours get the same
        # `extensions: {code, field}` as queries (app/graphql/errors.py).
        async def converted() -> Any:
            async for result in result_source:
                if isinstance(result, ExecutionResult | PreExecutionError) and result.errors:
                    result.errors = [convert_error(e) for e in result.errors]
                yield result

        await super()._send_result_stream(operation, converted())
