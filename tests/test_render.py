"""render.yaml: a Render Blueprint whose commands exist and whose settings load.

Render validates the file only when someone deploys it; these checks catch what would
break then: a renamed CLI command, a misspelt setting (silently ignored by dts), secrets
that the API and the workers would not share, a production configuration that refuses to
start.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic import AliasChoices

from app.cli import cli
from app.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
ROOT_KEYS = {"services", "databases", "envVarGroups", "previews", "projects", "ungrouped"}
SOURCES = {"value", "generateValue", "sync", "fromDatabase", "fromService", "fromGroup"}
# Variables read by Render's build, not by dts.
PLATFORM_VARIABLES = {"PYTHON_VERSION", "NODE_VERSION"}
# What Render puts in the environment at run time (connectionString of a managed database).
RENDER_DATABASE_URL = "postgresql://dts:s3cret@dpg-d0abc123example-a/dts"


@pytest.fixture(scope="module")
def blueprint() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "render.yaml").read_text())
    assert isinstance(data, dict)
    return data


def service(blueprint: dict[str, Any], kind: str) -> dict[str, Any]:
    [found] = [s for s in blueprint["services"] if s["type"] == kind]
    return found


def env_entries(blueprint: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [e for s in blueprint["services"] for e in s.get("envVars", [])]
    entries += [e for g in blueprint.get("envVarGroups", []) for e in g["envVars"]]
    return entries


def known_variables() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        else:
            names.add("DTS_" + name.upper())
    return names


def commands(blueprint: dict[str, Any]) -> list[str]:
    return [
        s[key]
        for s in blueprint["services"]
        for key in ("buildCommand", "preDeployCommand", "startCommand")
        if key in s
    ]


def test_structure(blueprint) -> None:
    assert set(blueprint) <= ROOT_KEYS
    web, worker = service(blueprint, "web"), service(blueprint, "worker")
    for svc in (web, worker):
        assert svc["runtime"] == "python" and svc["name"] and svc["plan"]
        assert svc["buildCommand"] and svc["startCommand"]
    assert web["startCommand"].split()[:2] == ["dts", "api"]
    assert worker["startCommand"].split()[:2] == ["dts", "worker"]
    assert web["healthCheckPath"] == "/api/health"
    [database] = blueprint["databases"]
    assert database["name"] and database.get("ipAllowList") == []
    for entry in env_entries(blueprint):
        assert len(SOURCES & set(entry)) == 1, f"one source per variable: {entry}"


def test_every_service_gets_the_database_and_the_shared_secrets(blueprint) -> None:
    databases = {d["name"] for d in blueprint["databases"]}
    groups = {g["name"]: g for g in blueprint["envVarGroups"]}
    for svc in blueprint["services"]:
        entries = svc["envVars"]
        [url] = [e for e in entries if e.get("key") in ("DATABASE_URL", "DTS_DATABASE_URL")]
        assert url["fromDatabase"]["name"] in databases
        assert url["fromDatabase"]["property"] == "connectionString"
        [group] = [groups[e["fromGroup"]] for e in entries if "fromGroup" in e]
        shared = {e["key"]: e for e in group["envVars"]}
        # Generated once in the group, so the API and every worker hold the same values:
        # tokens signed by the API verify anywhere, secrets encrypted by one decrypt in all.
        assert shared["DTS_JWT_SECRET"].get("generateValue") is True
        assert shared["DTS_SECRET_KEY"].get("generateValue") is True
        assert shared["DTS_ENV"]["value"] == "production"
        own = {e["key"] for e in entries if "key" in e}
        assert not own & {"DTS_JWT_SECRET", "DTS_SECRET_KEY", "JWT_SECRET"}, svc["name"]


def test_every_dts_command_it_names_exists(blueprint) -> None:
    available = set(typer.main.get_command(cli).commands)  # type: ignore[attr-defined]
    named = [m for c in commands(blueprint) for m in re.findall(r"\bdts\s+([a-z][\w-]*)", c)]
    assert {"api", "worker"} <= set(named)
    assert set(named) <= available, f"unknown dts commands: {set(named) - available}"


def test_every_variable_it_sets_is_a_setting(blueprint) -> None:
    known = known_variables() | PLATFORM_VARIABLES
    keys = {e["key"] for e in env_entries(blueprint) if "key" in e}
    assert keys <= known, f"not dts settings (dts would ignore them): {keys - known}"


def test_the_configuration_it_describes_starts_in_production(blueprint, monkeypatch) -> None:
    for name in list(known_variables()):
        monkeypatch.delenv(name, raising=False)
    generated = base64.b64encode(secrets.token_bytes(32)).decode()  # as generateValue makes
    web = service(blueprint, "web")
    group = next(g for g in blueprint["envVarGroups"] if g["name"] == "dts-shared")
    for entry in [*group["envVars"], *web["envVars"]]:
        key = entry.get("key")
        if key is None or key in PLATFORM_VARIABLES:
            continue
        if "value" in entry:
            monkeypatch.setenv(key, str(entry["value"]))
        elif entry.get("generateValue"):
            monkeypatch.setenv(key, generated)
        elif "fromDatabase" in entry:
            monkeypatch.setenv(key, RENDER_DATABASE_URL)
        elif entry.get("sync") is False and key == "DTS_APP_URL":
            monkeypatch.setenv(key, "https://dts-api.onrender.com")
    monkeypatch.setenv("PORT", "10000")  # set by Render for web services

    settings = load_settings()
    assert settings.env == "production"
    assert settings.database_url.startswith("postgresql+asyncpg://dts:s3cret@dpg-")
    assert (settings.host, settings.port) == ("0.0.0.0", 10000)
    assert settings.allow_signup is False
    assert settings.jwt_secret == generated and settings.secret_key == generated
    # Render's proxy (10.x) and Cloudflare in front of it are the only trusted hops.
    trusted = settings.trusted_proxy_networks
    for hop in ("10.21.157.68", "104.22.17.40", "2606:4700::1"):
        assert any(ipaddress.ip_address(hop) in network for network in trusted), hop
    for client in ("203.0.113.9", "192.168.1.5", "2001:db8::1"):
        assert not any(ipaddress.ip_address(client) in network for network in trusted)


def test_the_build_builds_the_dashboard_when_there_is_one(blueprint) -> None:
    build = service(blueprint, "web")["buildCommand"]
    assert "pip install ." in build
    assert "web/package.json" in build and "npm ci" in build and "npm run build" in build
    package = REPO / "web" / "package.json"
    if package.exists():
        assert "build" in json.loads(package.read_text())["scripts"]
