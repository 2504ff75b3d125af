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
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.config import Settings
from app.graphql.context import Context
from app.graphql.http import HttpGraphQL
from app.graphql.schema import schema
from app.graphql.websocket import DtsTransportWSHandler, SocketRegistry
from app.web import WEB_DIST, graphiql_page


class DtsGraphQL(HttpGraphQL):
    # Authentication at `connection_init`, re-checks and limits: app/graphql/websocket.py.
    graphql_transport_ws_handler_class = DtsTransportWSHandler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sockets = SocketRegistry()

    async def render_graphql_ide(self, request: Request) -> Response:
        """GET /graphql from a browser: the playground from the built dashboard."""
        settings: Settings = request.app.state.settings
        return graphiql_page(settings.web_dist or WEB_DIST)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(services=request.app.state.services, request=request, response=response)


def graphql_routes() -> list[BaseRoute]:
    app: Any = DtsGraphQL(
        schema,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        keep_alive=True,
        keep_alive_interval=15,
        # The handler applies DTS_WS_MAX_SUBSCRIPTIONS itself, with an error code.
        max_subscriptions_per_connection=None,
    )
    return [Route("/graphql", app, methods=["GET", "POST"]), WebSocketRoute("/graphql", app)]
