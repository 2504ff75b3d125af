"""`/graphql`: HTTP (GraphiQL in the browser) and graphql-transport-ws subscriptions.

GraphiQL is our own build (web/graphiql.html, built into web/dist with the dashboard), not
Strawberry's page, which loads React and GraphiQL from a public CDN and so never loads
offline or air-gapped.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from app.config import Settings
from app.domain.errors import DtsError
from app.graphql.context import Context
from app.graphql.schema import schema
from app.web import WEB_DIST, graphiql_page


class DtsGraphQL(GraphQL[Context, None]):
    async def render_graphql_ide(self, request: Request) -> Response:
        """GET /graphql from a browser: the playground from the built dashboard."""
        settings: Settings = request.app.state.settings
        return graphiql_page(settings.web_dist or WEB_DIST)

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
