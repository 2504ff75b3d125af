"""`make_http_executor`: the client by name, and only the chosen client imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from worker.executors.factory import DEFAULT_HTTP_CLIENT, make_http_executor
from worker.executors.http import HttpExecutor
from worker.executors.http_aiohttp import AiohttpExecutor


async def test_the_factory_builds_the_named_client() -> None:
    via_httpx = make_http_executor("httpx", allow_private=True, max_body_log=10)
    via_aiohttp = make_http_executor("aiohttp", allow_private=True, max_body_log=10)
    try:
        assert isinstance(via_httpx, HttpExecutor)
        assert isinstance(via_aiohttp, AiohttpExecutor)
        assert via_httpx.max_body_log == via_aiohttp.max_body_log == 10
    finally:
        await via_httpx.aclose()
        await via_aiohttp.aclose()


def test_the_default_is_aiohttp_and_unknown_names_are_refused() -> None:
    assert DEFAULT_HTTP_CLIENT == "aiohttp"
    with pytest.raises(ValueError, match="unknown HTTP client 'requests'"):
        make_http_executor("requests")  # type: ignore[arg-type]


@pytest.mark.parametrize(("chosen", "not_loaded"), [("aiohttp", "httpx"), ("httpx", "aiohttp")])
def test_only_the_chosen_client_is_imported(chosen: str, not_loaded: str) -> None:
    code = (
        "import sys\n"
        "from worker.executors.factory import make_http_executor\n"
        f"make_http_executor({chosen!r})\n"
        f"assert {chosen!r} in sys.modules\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] == {not_loaded!r})\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
