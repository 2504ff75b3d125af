"""The dashboard's static serving (app/web.py): caching, SPA fallback, and what it leaves alone."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.web import dashboard_routes


def make_dist(root: Path) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "index-Ab12Cd34.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    (root / "secret.txt").write_text("outside dist")
    return dist


class Client:
    """Requests to the app through ASGI, each in its own thread and event loop: the browser
    tests' Playwright owns this thread's loop."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, path: str) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://dts.test") as http:
                return await http.request(method, path)

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, send()).result()

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def head(self, path: str) -> httpx.Response:
        return self.request("HEAD", path)

    def post(self, path: str) -> httpx.Response:
        return self.request("POST", path)


def client(dist: Path) -> Client:
    async def api(request: object) -> PlainTextResponse:
        return PlainTextResponse("api")

    return Client(Starlette(routes=[Route("/api/health", api), *dashboard_routes(dist)]))


def test_hashed_assets_are_cached_for_a_year_and_index_is_revalidated(tmp_path: Path) -> None:
    http = client(make_dist(tmp_path))
    asset = http.get("/assets/index-Ab12Cd34.js")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in asset.headers["content-type"]
    index = http.get("/")
    assert index.status_code == 200
    assert index.headers["cache-control"] == "no-cache"
    assert index.text.startswith("<!doctype html>")
    assert http.get("/index.html").headers["cache-control"] == "no-cache"
    assert http.get("/favicon.svg").headers["cache-control"] == "public, max-age=3600"


def test_the_playground_page_is_revalidated_like_index_html(tmp_path: Path) -> None:
    dist = make_dist(tmp_path)
    (dist / "graphiql.html").write_text("<!doctype html><div id=playground></div>")
    page = client(dist).get("/graphiql.html")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"


def test_client_routes_fall_back_to_index_html(tmp_path: Path) -> None:
    http = client(make_dist(tmp_path))
    for path in ("/jobs", "/jobs/7/edit", "/runs/12", "/reset?token=abc", "/admin/audit"):
        response = http.get(path)
        assert response.status_code == 200, path
        assert "<div id=root>" in response.text
        assert response.headers["cache-control"] == "no-cache"
    assert http.head("/jobs").status_code == 200


def test_api_paths_missing_assets_and_escapes_are_not_answered_with_the_page(
    tmp_path: Path,
) -> None:
    http = client(make_dist(tmp_path))
    assert http.get("/api/health").text == "api"
    for path in ("/api/nope", "/graphql/x", "/metrics/x", "/assets/index-old.js"):
        assert http.get(path).status_code == 404, path
    assert "outside dist" not in http.get("/../secret.txt").text
    assert "outside dist" not in http.get("/%2e%2e/secret.txt").text
    assert http.post("/jobs").status_code == 405


def test_without_a_build_the_root_says_how_to_build_it(tmp_path: Path) -> None:
    http = client(tmp_path / "missing")
    response = http.get("/")
    assert response.status_code == 200
    assert "make run" in response.text and "make web" in response.text
