"""`dts monitors …` and `dts channels …` as a user runs them: real subprocesses against a
real database (both engines), errors named by the option, --help with metavars."""

from __future__ import annotations

import asyncio
import re
import subprocess

import httpx
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.models import Monitor
from app.server import create_app
from app.services.channels import create_channel
from app.services.secrets import SecretBox
from tests.alerting import Receiver
from tests.factories import add_user
from tests.live import dts_env
from tests.test_cli import run_dts


async def dts(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `dts` off the event loop (a receiver in this test may have to answer it)."""
    return await asyncio.to_thread(run_dts, *args, env=env)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr.strip()


async def test_monitor_commands(database_url: str, db: Database, settings: Settings) -> None:
    await add_user(db, "ada@example.com")
    await add_user(db, "vic@example.com", role="viewer")
    env = dts_env(database_url, DTS_APP_URL="https://dts.example.com")
    assert ok(await dts("monitors", "list", env=env)).strip() == "no monitors"

    created = ok(
        await dts(
            "monitors", "create", "nightly backup", "--owner", "Ada@Example.com",
            "--cron", "30 2 * * *", "--tz", "Europe/Berlin", "--grace", "900",
            env=env,
        )
    )  # fmt: skip
    match = re.fullmatch(
        r"created monitor (\d+) 'nightly backup'\nping URL: (https://dts\.example\.com/ping/\S+)\n",
        created,
    )
    assert match, created
    monitor_id, url = match.group(1), match.group(2)
    async with db.session() as session:
        monitor = await session.scalar(select(Monitor).where(Monitor.id == int(monitor_id)))
    assert monitor is not None and monitor.grace_seconds == 900
    assert url.endswith(monitor.ping_key) and monitor.timezone == "Europe/Berlin"
    assert ok(await dts("monitors", "ping-url", monitor_id, env=env)).strip() == url
    ok(await dts("monitors", "create", "hourly", "--owner", "ada@example.com",
                 "--period", "3600", env=env))  # fmt: skip

    listing = ok(await dts("monitors", "list", "--owner", "ada@example.com", env=env))
    lines = listing.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATE", "SCHEDULE", "NEXT", "EXPECTED", "(UTC)",
                                "OWNER"]  # fmt: skip
    assert "hourly" in lines[1] and "every 3600s" in lines[1]
    assert "nightly backup" in lines[2] and "30 2 * * * (Europe/Berlin)" in lines[2]
    assert "new" in lines[2] and "ada@example.com" in lines[2]

    assert ok(await dts("monitors", "pause", monitor_id, env=env)).startswith("paused monitor")
    assert " paused " in ok(await dts("monitors", "list", env=env)).splitlines()[2]
    ok(await dts("monitors", "resume", monitor_id, env=env))
    async with db.session() as session:
        assert (await session.get(Monitor, int(monitor_id))).paused is False  # type: ignore[union-attr]

    # The ping URL works until the monitor is deleted, then answers 404.
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    path = url.removeprefix("https://dts.example.com")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        assert (await client.get(path)).status_code == 200
        assert ok(await dts("monitors", "delete", monitor_id, env=env)) == (
            f"deleted monitor {monitor_id} 'nightly backup'\n"
        )
        assert (await client.get(path)).status_code == 404
    assert refused(await dts("monitors", "ping-url", monitor_id, env=env)) == (
        "dts: ID: monitor not found"
    )
    assert "nightly" not in ok(await dts("monitors", "list", env=env))


CREATE_ERRORS = [
    (["--period", "30"], "dts: --period: 30 seconds is out of range: 60 seconds to 366 days"),
    ([], "dts: --cron: give --cron CRON (with --tz ZONE) or --period SECONDS"),
    (["--cron", "99 * * * *"], "dts: --cron: minute field: '99' is out of range 0-59"),
    (["--cron", "* * * * *", "--tz", "Mars/Base"], "dts: --tz: unknown timezone 'Mars/Base'"),
    (["--period", "60", "--grace", "-1"], "dts: --grace: -1 seconds is out of range"),
    (["--period", "60", "--max-duration", "0"], "dts: --max-duration: 0 seconds is out of"),
    (["--period", "60", "--owner", "nobody@example.com"], "dts: --owner: no account has"),
    (["--period", "60", "--owner", "not-an-address"], "dts: --owner: 'not-an-address' is"),
    (["--period", "60", "--owner", "vic@example.com"], "dts: viewers can read"),
]


async def test_create_errors_name_the_option(database_url: str, db: Database) -> None:
    await add_user(db, "ada@example.com")
    await add_user(db, "vic@example.com", role="viewer")
    for args, message in CREATE_ERRORS:
        if "--owner" not in args:
            args = [*args, "--owner", "ada@example.com"]
        result = await dts("monitors", "create", "x", *args, env=dts_env(database_url))
        assert refused(result).startswith(message), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    async with db.session() as session:
        assert list(await session.scalars(select(Monitor))) == []


async def test_channel_commands(database_url: str, db: Database, settings: Settings) -> None:
    owner = await add_user(db, "ada@example.com")
    receiver = Receiver()
    await receiver.start()
    try:
        async with db.transaction() as session:
            hook = await create_channel(
                session,
                SecretBox(settings),
                owner,
                name="ops hook",
                kind="webhook",
                config={"url": receiver.url("/secret-path")},
                allow_private=True,
            )
        env = dts_env(database_url, DTS_HTTP_ALLOW_PRIVATE="true")
        listing = ok(await dts("channels", "list", env=env))
        assert "ops hook" in listing and "webhook" in listing and "ada@example.com" in listing
        assert "secret-path" not in listing  # targets are masked
        channel_id = str(hook.channel.id)
        tested = ok(await dts("channels", "test", channel_id, env=env))
        assert tested.strip() == f"test delivered to channel {channel_id}"
        assert receiver.events("/secret-path") == ["test"]
        await receiver.stop()
        down = await dts("channels", "test", channel_id, env=env)
        # The last line: a warning about DTS_SECRET_KEY may come first.
        assert refused(down).splitlines()[-1].startswith("dts: test not delivered: ")
        missing = await dts("channels", "test", "999", env=env)
        assert refused(missing) == "dts: ID: no channel with id 999"
    finally:
        await receiver.stop()


HELP = {
    ("monitors", "create"): [
        *("NAME", "--owner", "EMAIL", "--cron", "CRON", "--tz", "ZONE"),
        *("--period", "SECONDS", "--grace", "--max-duration"),
    ],
    ("monitors", "list"): ["--owner", "EMAIL"],
    ("monitors", "pause"): ["ID"],
    ("monitors", "resume"): ["ID"],
    ("monitors", "delete"): ["ID"],
    ("monitors", "ping-url"): ["ID"],
    ("channels", "list"): ["--owner", "EMAIL"],
    ("channels", "test"): ["ID"],
    ("monitors",): ["list", "create", "pause", "resume", "delete", "ping-url"],
    ("channels",): ["list", "test"],
}


@pytest.mark.parametrize("command", sorted(HELP))
def test_help_names_values_by_what_they_are(command: tuple[str, ...]) -> None:
    result = run_dts(*command, "--help", env={**dts_env("sqlite:///x.db"), "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    for python_type in ("<str>", "<int>", "<float>", "<bool>", "FLOAT", "INTEGER", "TEXT"):
        assert python_type not in result.stdout, (python_type, result.stdout)
    for name in HELP[command]:
        assert name in result.stdout, (name, result.stdout)
