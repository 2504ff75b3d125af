"""Settings: `DTS_*` environment variables, with the original brief's names as aliases.

A missing or malformed setting stops the process at start with one line naming it
(`ConfigError`), never a traceback. `load_settings()` is the only place that reads the
environment; everything else receives a `Settings` object.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The worker's HTTP client (worker/executors/factory.py). aiohttp costs about a tenth of
# httpx's CPU per request (docs/architecture.md, "HTTP executors"); both are SSRF-guarded
# and behave alike, httpx stays as the fallback.
HttpClient = Literal["aiohttp", "httpx"]

DEV_JWT_SECRET = "dts-development-secret-change-me"  # noqa: S105 - refused in production
DEFAULT_DATA_DIR = Path(".dts")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(name, *aliases)


def normalise_database_url(raw: str) -> str:
    """Turn the URLs people paste (Render's `postgres://…`, `sqlite:///file`) into async ones.

    Render and Heroku hand out `postgres://…?sslmode=require`; asyncpg wants
    `postgresql+asyncpg://…?ssl=require`.
    """
    url = raw.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"):
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError(f"{raw!r} has no host; expected postgresql://user:pass@host:5432/db")
        query = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "sslmode":
                key = "ssl"
            query.append((key, value))
        return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), ""))
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        if not url.split(":", 1)[1].startswith("///"):
            raise ValueError(
                f"{raw!r}: a SQLite URL is sqlite:///relative/path.db or sqlite:////abs"
            )
        return "sqlite+aiosqlite:" + url.split(":", 1)[1]
    raise ValueError(
        f"{raw!r} is not a supported database URL; "
        "use postgresql://user:pass@host:5432/db or sqlite:///path/to/dts.db"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DTS_",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
    )

    env: Literal["development", "production", "test"] = "development"
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATA_DIR}/dts.db",
        validation_alias=_env("DTS_DATABASE_URL", "DATABASE_URL"),
    )
    jwt_secret: str = Field(
        default=DEV_JWT_SECRET, validation_alias=_env("DTS_JWT_SECRET", "JWT_SECRET")
    )
    app_url: str = Field(
        default="http://localhost:4000", validation_alias=_env("DTS_APP_URL", "APP_URL")
    )
    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=1, le=65535, validation_alias=_env("DTS_PORT", "PORT"))
    secret_key: str | None = None
    smtp_url: str | None = None
    smtp_from: str = "dts <no-reply@localhost>"
    script_root: Path = Field(default_factory=Path.cwd)
    http_allow_private: bool = False
    http_client: HttpClient = "aiohttp"
    allow_signup: bool = True
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    worker_concurrency: int = Field(default=16, ge=1, le=1024)
    lease_seconds: float = Field(default=30.0, ge=2, le=3600)
    poll_interval: float = Field(default=0.5, gt=0, le=60)
    # How far ahead the scheduler queues occurrences of `allow` jobs, so workers start
    # them on the dot instead of after the tick that creates them (0: at their time).
    schedule_lookahead: float = Field(default=1.0, ge=0, le=60)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0, le=3600)
    retention_days: int = Field(default=30, ge=1, le=3650)
    log_max_lines: int = Field(default=10_000, ge=10)
    output_max_bytes: int = Field(default=1_000_000, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Websockets (/graphql, graphql-transport-ws): operations running at once on one
    # socket, open sockets per account and per client address (per API process), seconds
    # a socket may wait before `connection_init`, and seconds it may stay without any
    # running operation.
    ws_max_subscriptions: int = Field(default=100, ge=1, le=10_000)
    ws_max_per_user: int = Field(default=20, ge=1, le=10_000)
    ws_max_per_ip: int = Field(default=50, ge=1, le=100_000)
    ws_init_timeout: float = Field(default=10.0, gt=0, le=3600)
    ws_idle_timeout: float = Field(default=300.0, gt=0, le=86_400)
    web_dist: Path | None = None

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("app_url")
    @classmethod
    def _app_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL such as https://dts.example.com")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"expected smtp://user:pass@host:587?starttls=true, got {value!r}")
        return value

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.env == "production":
            if self.jwt_secret == DEV_JWT_SECRET:
                raise ValueError(
                    "DTS_JWT_SECRET must be set in production (the development default is refused)"
                )
            if len(self.jwt_secret) < 32:
                raise ValueError("DTS_JWT_SECRET must be at least 32 characters in production")
            if not self.secret_key:
                raise ValueError("DTS_SECRET_KEY must be set in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_FIELD_ENV = {
    "database_url": "DTS_DATABASE_URL",
    "jwt_secret": "DTS_JWT_SECRET",
    "app_url": "DTS_APP_URL",
    "port": "DTS_PORT",
}


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if not loc:
        return message
    field = loc[0]
    name = field if field.isupper() else _FIELD_ENV.get(field, "DTS_" + field.upper())
    return f"{name}: {message}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ConfigError with one line on bad input."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(f"configuration error: {_describe(error)}") from None


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
