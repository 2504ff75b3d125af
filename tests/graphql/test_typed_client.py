"""Another team's view: generate the typed Python client from schema.graphql with
ariadne-codegen (in its own virtualenv, as `make client` does) and drive a live server."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.gql_client import register_mutation
from tests.live import REPO, LiveServer, dts_env

CODEGEN_VENV = REPO / ".venv-codegen"


def codegen() -> Path:
    tool = CODEGEN_VENV / "bin" / "ariadne-codegen"
    if not tool.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CODEGEN_VENV)], check=True)
        subprocess.run(
            [str(CODEGEN_VENV / "bin" / "pip"), "install", "-q", "ariadne-codegen>=0.19,<0.20"],
            check=True,
            timeout=600,
        )
    return tool


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("client")
    config = out / "codegen.toml"
    config.write_text(
        "[tool.ariadne-codegen]\n"
        f'schema_path = "{REPO / "schema.graphql"}"\n'
        f'queries_path = "{REPO / "clients" / "operations.graphql"}"\n'
        'target_package_name = "dts_client"\n'
        f'target_package_path = "{out}"\n'
        'client_name = "DtsClient"\n'
        "async_client = true\n"
        "[tool.ariadne-codegen.scalars.DateTime]\n"
        'type = "datetime.datetime"\n'
    )
    result = subprocess.run(
        [str(codegen()), "--config", str(config), "client"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("dts_client")
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n.startswith("dts_client")]:
            del sys.modules[name]


async def test_generated_client_logs_in_creates_triggers_and_reads_the_run(
    generated_client, tmp_path, target
) -> None:
    dts = generated_client
    server = LiveServer(
        "up",
        dts_env(
            f"sqlite:///{tmp_path}/c.db", DTS_HTTP_ALLOW_PRIVATE="true", DTS_POLL_INTERVAL="0.05"
        ),
    )
    try:
        server.wait_healthy()
        httpx.post(
            server.url + "/graphql",
            json={"query": register_mutation("team@example.com")},
        )
        client = dts.DtsClient(url=server.url + "/graphql")
        login = await client.login(email="team@example.com", password="correct-horse-battery")
        assert login.login.user.email == "team@example.com"
        client = dts.DtsClient(
            url=server.url + "/graphql",
            headers={"Authorization": f"Bearer {login.login.access_token}"},
        )
        job = (
            await client.create_job(
                dts.JobInput(
                    type=dts.JobType.HTTP,
                    name="from-the-typed-client",
                    schedule=dts.ScheduleInput(cron="0 9 * * MON-FRI", timezone="Europe/Berlin"),
                    http=dts.HttpRequestInput(method="GET", url=target.url("/ok")),
                )
            )
        ).create_job
        assert job.schedule.description and job.next_run_at is not None
        run = (await client.trigger_job(id=job.id)).trigger_job
        for _ in range(100):
            detail = (await client.get_run(id=run.id)).run
            if detail and detail.status == dts.RunStatus.SUCCEEDED:
                break
            await asyncio.sleep(0.1)
        assert detail is not None and detail.status == dts.RunStatus.SUCCEEDED
        assert detail.http_status == 200 and detail.logs
        preview = (
            await client.preview_schedule(cron="30 2 * * *", timezone="Europe/Berlin", count=400)
        ).preview_schedule
        assert any(o.dst_shifted for o in preview.occurrences)
    finally:
        server.stop()
