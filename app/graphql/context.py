"""Per-request (or per-websocket) GraphQL context: services, the caller, and DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket

from app.context import Services
from app.domain.errors import Unauthenticated
from app.graphql.loaders import Loaders
from app.services.access import Principal


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Any = None
    connection_params: dict[str, Any] | None = None
    loaders: Loaders = field(init=False)
    _principal: Principal | None = None
    _authenticated: bool = False

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.services)

    @property
    def ip(self) -> str | None:
        client = self.request.client
        return client.host if client else None

    @property
    def user_agent(self) -> str | None:
        return self.request.headers.get("user-agent")

    def authorization(self) -> str | None:
        """The credential sent: `connectionParams` on a websocket, else the header."""
        if self.connection_params:
            for key in ("authorization", "Authorization", "authToken", "token"):
                value = self.connection_params.get(key)
                if isinstance(value, str) and value:
                    return value if " " in value else f"Bearer {value}"
        return self.request.headers.get("authorization")

    async def principal(self) -> Principal | None:
        """The caller, or None when no credentials were sent (bad ones raise)."""
        if not self._authenticated:
            self._principal = await self.services.auth.authenticate(self.authorization())
            self._authenticated = True
        return self._principal

    def reauthenticated(self, principal: Principal, authorization: str | None = None) -> None:
        """A websocket re-checked its caller: later operations run as `principal`."""
        if authorization is not None:
            self.connection_params = {"authorization": authorization}
        self._principal = principal
        self._authenticated = True

    async def require(self) -> Principal:
        principal = await self.principal()
        if principal is None:
            raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
        return principal
