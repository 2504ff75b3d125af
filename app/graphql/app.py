"""`/graphql`: HTTP (GraphiQL in the browser) and graphql-transport-ws subscriptions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from app.domain.errors import DtsError
from app.graphql.context import Context
from app.graphql.http import HttpGraphQL
from app.graphql.schema import schema


class DtsGraphQL(HttpGraphQL):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(services=request.app.state.services, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate once per connection from `connectionParams.authorization`."""
        try:
            principal = await context.principal()
        except DtsError as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        return {"userId": principal.user_id if principal else None}


def graphql_routes() -> list[BaseRoute]:
    app: Any = DtsGraphQL(
        schema,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        keep_alive=True,
        keep_alive_interval=15,
    )
    return [Route("/graphql", app, methods=["GET", "POST"]), WebSocketRoute("/graphql", app)]
