"""The dashboard: the built `web/dist` served at `/`, with a fallback to `index.html`.

The GraphQL playground (GraphiQL, built into the same `dist` as `graphiql.html`) is
answered at GET /graphql by the GraphQL app, through `graphiql_page` here.

Vite names every asset by a hash of its content, so `/assets/*` is cached for a year and
never revalidated; `index.html` is revalidated on every load, so a new release is picked
up at once. Any other GET that is not a file (a client-side route such as `/jobs/7`) gets
`index.html`. `/api`, `/graphql` and `/metrics` are never answered here: their routes are
mounted before this one, and anything that still reaches us under them is a 404.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

# Where `make web` builds the dashboard; `DTS_WEB_DIST` (settings.web_dist) overrides it.
WEB_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
GRAPHIQL_HTML = "graphiql.html"

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=3600"
API_PREFIXES = ("api", "graphql", "metrics")

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dts: dashboard not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.6 system-ui,sans-serif;max-width:36rem;margin:12vh auto;padding:0 1rem;
color:#101828}code{background:#f2f4f7;padding:.1em .35em;border-radius:4px}
@media (prefers-color-scheme:dark){body{background:#0b0d12;color:#e8eaef}code{background:#1b2029}}
</style></head><body>
<h1>The dts dashboard is not built yet</h1>
<p>The API is running: GraphQL at <a href="/graphql">/graphql</a>, REST under <code>/api</code>.</p>
<p>To build the dashboard, run <code>make run</code> (builds it and starts dts) or
<code>make web</code> (builds it only), then reload this page.</p>
<p>Looked for: <code>{dist}</code></p>
</body></html>
"""


GRAPHIQL_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dts: GraphQL playground not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.6 system-ui,sans-serif;max-width:36rem;margin:12vh auto;padding:0 1rem;
color:#101828}code{background:#f2f4f7;padding:.1em .35em;border-radius:4px}
@media (prefers-color-scheme:dark){body{background:#0b0d12;color:#e8eaef}code{background:#1b2029}}
</style></head><body>
<h1>The GraphQL playground is not built</h1>
<p>The dashboard is not built — run <code>make web</code> (or <code>make run</code>), then
reload this page. The playground (GraphiQL) is built with the dashboard and served by dts
itself, so it works offline.</p>
<p>The API works meanwhile: POST GraphQL to <code>/graphql</code>
(<code>{"query": "{ me { email } }"}</code>), subscriptions over graphql-transport-ws.</p>
<p>Looked for: <code>{file}</code></p>
</body></html>
"""


def graphiql_page(dist: Path) -> Response:
    """The playground's HTML from the built `dist`, or a page saying how to build it."""
    page = dist.resolve() / GRAPHIQL_HTML
    if not page.is_file():
        return HTMLResponse(
            GRAPHIQL_NOT_BUILT.replace("{file}", html.escape(str(page))),
            headers={"Cache-Control": REVALIDATE},
        )
    return FileResponse(
        page,
        media_type="text/html",
        headers={"Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"},
    )


def _under_api(path: str) -> bool:
    first = path.split("/", 1)[0]
    return first in API_PREFIXES


class Dashboard:
    """An ASGI endpoint serving files from `dist`, falling back to `dist/index.html`."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()
        self.index = self.dist / "index.html"

    def _file(self, path: str) -> Path | None:
        """The file under `dist` that `path` names, or None (never a file outside `dist`)."""
        if not path or "\x00" in path:
            return None
        candidate = (self.dist / path).resolve()
        if not candidate.is_relative_to(self.dist) or not candidate.is_file():
            return None
        return candidate

    async def __call__(self, request: Request) -> Response:
        path = request.path_params.get("path", "").lstrip("/")
        if _under_api(path):
            return PlainTextResponse("Not Found", status_code=404)
        if not self.index.is_file():
            return HTMLResponse(NOT_BUILT.replace("{dist}", str(self.dist)))
        found = self._file(path)
        if found is not None and found != self.index:
            # Pages (graphiql.html) name hashed assets that a release replaces: revalidate.
            if path.startswith("assets/"):
                cache = IMMUTABLE
            else:
                cache = REVALIDATE if found.suffix == ".html" else SHORT
            return FileResponse(found, headers={"Cache-Control": cache})
        if path.startswith("assets/"):
            # A missing hashed asset (an old tab after a release): a 404, never index.html,
            # which the browser would try to run as a script.
            return PlainTextResponse("Not Found", status_code=404)
        return FileResponse(
            self.index,
            media_type="text/html",
            headers={"Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"},
        )


def dashboard_routes(dist: Path) -> list[BaseRoute]:
    """The dashboard's routes; mount them last, after every API route."""
    dashboard = Dashboard(dist)

    async def serve(request: Request) -> Response:
        return await dashboard(request)

    return [Route("/{path:path}", serve, methods=["GET", "HEAD"], name="dashboard")]
