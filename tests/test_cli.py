"""The `dts` command as a user runs it: real subprocesses, real databases."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from app.db.migrate import head_revision
from tests.live import DTS, REPO, LiveServer, dts_env, free_port


def run_dts(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DTS, *args], env=env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_bad_database_url_exits_with_one_clear_line() -> None:
    result = run_dts("up", env=dts_env("nonsense"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DTS_DATABASE_URL" in lines[0] and "nonsense" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_unreachable_database_is_one_line_not_a_traceback() -> None:
    result = run_dts("migrate", env=dts_env("postgresql://postgres@127.0.0.1:1/nope"))
    assert result.returncode != 0
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_every_command() -> None:
    result = run_dts("--help", env=dts_env("sqlite:///x.db"))
    assert result.returncode == 0
    for command in ("up", "api", "worker", "migrate", "create-user", "preview", "export-schema"):
        assert command in result.stdout


HELP_NAMES = {
    "up": ["--host", "HOST", "--port", "PORT", "127.0.0.1", "4000"],
    "api": ["--host", "HOST", "--port", "PORT"],
    "worker": ["--migrate"],
    "create-user": ["EMAIL", "--role", "ROLE", "member", "--admin", "--password-stdin"],
    "preview": ["CRON", "--tz", "ZONE", "--count", " N ", "--from", "ISO", "--also", "now"],
    "export-schema": ["--output", "FILE"],
    "migrate": ["--help"],
}


@pytest.mark.parametrize("command", sorted(HELP_NAMES))
def test_help_names_values_by_what_they_are_not_by_python_type(command: str) -> None:
    result = run_dts(command, "--help", env={**dts_env("sqlite:///x.db"), "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    for python_type in ("<str>", "<int>", "<bool>", "<list", "{email}", "{cron}"):
        assert python_type not in result.stdout, (python_type, result.stdout)
    for name in HELP_NAMES[command]:
        assert name in result.stdout, (name, result.stdout)


def test_migrate_and_create_user(database_url: str, db: object) -> None:
    env = dts_env(database_url)
    migrated = run_dts("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert f"revision {head_revision()}" in migrated.stdout
    first = run_dts(
        "create-user", "Ada@Example.com", "--password-stdin", env=env, stdin="pw-123456\n"
    )
    assert first.returncode == 0, first.stderr
    assert "created admin ada@example.com" in first.stdout
    second = run_dts(
        "create-user", "bob@example.com", "--password-stdin", env=env, stdin="pw-123456\n"
    )
    assert "created member bob@example.com" in second.stdout
    again = run_dts(
        "create-user", "BOB@example.com", "--password-stdin", env=env, stdin="pw-123456\n"
    )
    assert again.returncode == 1
    assert again.stderr.strip() == "dts: email: an account with this e-mail already exists"
    short = run_dts("create-user", "c@example.com", "--password-stdin", env=env, stdin="short\n")
    assert short.returncode == 1
    assert "password: must be at least 8 characters" in short.stderr
    common = run_dts(
        "create-user", "c@example.com", "--password-stdin", env=env, stdin="Password123\n"
    )
    assert common.returncode == 1
    assert common.stderr.startswith("dts: password: is one of the most common passwords")
    assert "Traceback" not in common.stderr


def test_up_serves_health_on_a_fresh_directory(tmp_path: pytest.TempPathFactory) -> None:
    env = dts_env("sqlite:///.dts/dts.db")
    del env["DTS_DATABASE_URL"]  # the default: a SQLite file under ./.dts/
    server = LiveServer("up", env, cwd=tmp_path)  # type: ignore[arg-type]
    try:
        response = server.wait_healthy(timeout=60)
        body = response.json()
        assert body["status"] == "ok" and body["database"] == "sqlite"
        assert body["revision"] == body["expectedRevision"]
        assert (tmp_path / ".dts" / "dts.db").exists()  # type: ignore[operator]
    finally:
        server.stop()


async def test_health_is_503_with_a_reason_when_the_database_is_down() -> None:
    from app.config import Settings
    from app.server import create_app

    app = create_app(Settings(database_url="postgresql://postgres@127.0.0.1:1/none"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dts") as client:
            response = await client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert "Connect call failed" in response.json()["reason"]


def test_health_against_a_live_api_process(database_url: str, db: object) -> None:
    server = LiveServer("api", dts_env(database_url))
    try:
        body = server.wait_healthy().json()
        assert body["database"] in ("sqlite", "postgresql")
        assert httpx.get(server.url + "/api/nope").status_code == 404
    finally:
        server.stop()


def test_development_secret_on_a_reachable_address_warns_loudly_at_start(
    tmp_path: pytest.TempPathFactory,
) -> None:
    """192.0.2.1 (TEST-NET-1) is not on this host: dts warns, then cannot bind, and exits."""
    env = dts_env(f"sqlite:///{tmp_path}/dts.db")
    del env["DTS_JWT_SECRET"]  # the development default
    result = run_dts("api", "--host", "192.0.2.1", "--port", str(free_port()), env=env)
    assert result.returncode != 0
    assert "WARNING: dts listens on 192.0.2.1" in result.stderr
    assert "DEVELOPMENT JWT secret" in result.stderr
    assert "secrets.token_urlsafe(48)" in result.stderr
    assert "Traceback" not in result.stderr
