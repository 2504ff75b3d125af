"""`dts worker` stays lean: what a worker process never needs is never imported.

Each package below cost a worker RSS it never used (docs/benchmarks.md, finding on
memory): the schema check loaded Alembic and Mako, httpx loaded its own command line
(rich, pygments, click), the secret box loaded `cryptography` before any secret was seen,
and the API stack (Strawberry, Starlette, uvicorn) belongs to `dts api` only. The test
runs the real command, `dts worker` (default `--migrate`, on a schema already at head),
until it has registered and ticked, then reads its `sys.modules`.
"""

from __future__ import annotations

import json
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.engine import Database
from app.db.migrate import upgrade
from app.db.models import Worker
from tests.live import REPO, dts_env

NOT_IN_A_WORKER = (
    "alembic",
    "mako",
    "rich",
    "pygments",
    "click",
    "cryptography",
    "strawberry",
    "graphql",
    "starlette",
    "uvicorn",
    "websockets",
    "jwt",
    "pwdlib",
    "argon2",
    "prometheus_client",
    "aiosmtplib",
    "yaml",
)

# `python -m app worker`, plus a SIGUSR1 handler that writes sys.modules to a file.
WORKER_WITH_PROBE = """
import json, signal, sys

OUT = sys.argv[1]

def dump(*_):
    with open(OUT, "w") as file:
        json.dump(sorted(sys.modules.copy()), file)

signal.signal(signal.SIGUSR1, dump)
sys.argv = ["dts", "worker"]
from app.cli import main
main()
"""


async def _registered(url: str) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            query = select(func.count()).select_from(Worker).where(Worker.stopped_at.is_(None))
            return int(await session.scalar(query) or 0)
    finally:
        await db.dispose()


@pytest.mark.parametrize("http_client", ["aiohttp", "httpx"])
async def test_a_running_worker_imports_no_api_cli_or_migration_stack(
    tmp_path: Path, http_client: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}"
    db = Database(url)
    await upgrade(db)  # in this process: the worker below finds the schema at head
    await db.dispose()
    modules_file = tmp_path / "modules.json"
    env = dts_env(url, DTS_HTTP_CLIENT=http_client)
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER_WITH_PROBE, str(modules_file)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while await _registered(url) == 0:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the worker did not register in 60 s"
            time.sleep(0.1)
        time.sleep(1.0)  # a few ticks and claims: lazy imports in the loops count too
        proc.send_signal(signal.SIGUSR1)
        while not modules_file.exists() or not modules_file.read_text().endswith("]"):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "no module list from the worker"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output
    modules = set(json.loads(modules_file.read_text()))
    assert "worker.main" in modules and "app.db.migrate" in modules  # it is the real thing
    loaded = sorted({name.split(".")[0] for name in modules} & set(NOT_IN_A_WORKER))
    assert loaded == [], f"dts worker imported {loaded}"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_malloc_arenas_are_capped_unless_the_environment_says_otherwise() -> None:
    code = "from app.cli import limit_malloc_arenas; print(limit_malloc_arenas())"

    def capped(**extra: str) -> str:
        env = dts_env("sqlite:///unused.db", **extra)
        env.pop("MALLOC_ARENA_MAX", None)
        env.update(extra)
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert capped() == "True"
    assert capped(MALLOC_ARENA_MAX="4") == "False"  # the operator's setting stands
