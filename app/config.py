"""Settings: `DTS_*` environment variables, with the original brief's names as aliases.

A missing or malformed setting stops the process at start with one line naming it
(`ConfigError`), never a traceback. `load_settings()` is the only place that reads the
environment; everything else receives a `Settings` object.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import os
from collections import Counter
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


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(raw: str) -> tuple[IPNetwork, ...]:
    """`10.0.0.0/8, 192.0.2.7` → networks; ValueError naming the entry that is not one.

    `*` is refused: trusting every peer lets any client choose its own address by sending
    X-Forwarded-For, which is the hole this setting closes.
    """
    networks: list[IPNetwork] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item == "*":
            raise ValueError(
                "'*' would trust every client to name its own address; "
                "list your proxies' IP addresses or CIDR networks, e.g. 10.0.0.0/8"
            )
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or CIDR network; "
                "expected a comma-separated list such as 127.0.0.1, 10.0.0.0/8, fd00::/8"
            ) from None
    return tuple(networks)


GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT_CHARACTERS = 8
# Estimated as length × the Shannon entropy of the character distribution (a lower bound
# for random text: a 128-bit key in hex, 32 characters, scores about 120). Generated
# secrets score far above it; the checks before it catch the patterns people type.
MIN_SECRET_BITS = 80


def weak_secret_reason(secret: str) -> str | None:
    """Why `secret` is too guessable to sign tokens or encrypt with, or None if it is fine.

    Length alone admits `aaaa…` and `passwordpassword…`; these checks look at what the
    characters carry: how many different ones, whether the text repeats itself or runs
    along the keyboard/alphabet, and an entropy estimate.
    """
    length = len(secret)
    if length < MIN_SECRET_LENGTH:
        return f"it is {length} characters long; at least {MIN_SECRET_LENGTH} are needed"
    counts = Counter(secret)
    if len(counts) < MIN_SECRET_DISTINCT_CHARACTERS:
        return (
            f"it uses only {len(counts)} different characters; "
            f"a random secret uses at least {MIN_SECRET_DISTINCT_CHARACTERS}"
        )
    trigrams = {secret[i : i + 3] for i in range(length - 2)}
    if len(trigrams) < 0.75 * (length - 2):
        return "it repeats itself (the same few characters over and over)"
    steps = sum(abs(ord(b) - ord(a)) <= 1 for a, b in itertools.pairwise(secret))
    if steps >= 2 * (length - 1) / 3:
        return "it is mostly runs of neighbouring characters (like abcd… or 1234…)"
    bits = -sum(n * math.log2(n / length) for n in counts.values())
    if bits < MIN_SECRET_BITS:
        estimate = math.floor(bits)
        return f"it carries about {estimate} bits of entropy; at least {MIN_SECRET_BITS} are needed"
    return None


def _refuse_weak_secret(name: str, secret: str) -> None:
    reason = weak_secret_reason(secret)
    if reason is not None:
        raise ValueError(
            f"{name} is too weak for production: {reason}. Generate one with: {GENERATE_SECRET}"
        )


def default_app_url(port: int) -> str:
    """DTS_APP_URL when unset: this machine on the port dts serves."""
    return f"http://localhost:{port}"


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def exposed_secret_warning(settings: Settings, host: str) -> str | None:
    """The banner printed at start when a guessable JWT secret meets a reachable bind.

    Production refuses such secrets outright; development allows them, but with the
    development secret (it is in the source code) anyone who can reach the port can forge
    a token for any account, the admin's included.
    """
    if is_loopback_host(host):
        return None
    if settings.uses_development_secret:
        problem = "the DEVELOPMENT JWT secret (it is public: it is in dts's source code)"
    else:
        reason = weak_secret_reason(settings.jwt_secret)
        if reason is None:
            return None
        problem = f"a weak DTS_JWT_SECRET ({reason})"
    rule = "!" * 78
    return "\n".join(
        [
            rule,
            f"!! WARNING: dts listens on {host}, reachable from other machines, with",
            f"!! {problem}.",
            "!! Anyone who can reach this port can forge a sign-in token for any account.",
            "!! Set DTS_JWT_SECRET and DTS_SECRET_KEY, each generated with",
            f"!!   {GENERATE_SECRET}",
            "!! (and DTS_ENV=production), or listen on 127.0.0.1 (DTS_HOST / --host).",
            rule,
        ]
    )


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
    # Empty: http://localhost:<port> (see _derived_app_url), so reset links follow DTS_PORT.
    app_url: str = Field(default="", validation_alias=_env("DTS_APP_URL", "APP_URL"))
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
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated IPs/CIDRs; none by
    # default). The client address is the right-most hop not in this list.
    trusted_proxies: str = ""
    # Sign-in limits (app/services/throttle.py): failures per (account, address) before
    # each attempt must wait (1 s, doubling up to the cap), and failures per address across
    # all accounts in 15 minutes before that address is blocked for 15 minutes.
    login_free_attempts: int = Field(default=5, ge=1, le=1000)
    login_max_delay_seconds: float = Field(default=15 * 60, ge=1, le=24 * 3600)
    login_ip_limit: int = Field(default=20, ge=1, le=100_000)
    # Heartbeat pings (unauthenticated): per ping URL and per sender address, per minute.
    ping_key_limit: int = Field(default=60, ge=1, le=1_000_000)
    ping_ip_limit: int = Field(default=600, ge=1, le=1_000_000)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("app_url")
    @classmethod
    def _app_url(cls, value: str) -> str:
        if value == "":
            return value  # unset: derived from the port (_derived_app_url)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL such as https://dts.example.com")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        return ", ".join(str(network) for network in parse_trusted_proxies(value))

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
    def _derived_app_url(self) -> Settings:
        if not self.app_url:
            self.app_url = default_app_url(self.port)
        return self

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.env == "production":
            if self.jwt_secret == DEV_JWT_SECRET:
                raise ValueError(
                    "DTS_JWT_SECRET must be set in production (the development default is "
                    f"refused). Generate one with: {GENERATE_SECRET}"
                )
            _refuse_weak_secret("DTS_JWT_SECRET", self.jwt_secret)
            if not self.secret_key:
                raise ValueError(
                    "DTS_SECRET_KEY must be set in production. "
                    f"Generate one with: {GENERATE_SECRET}"
                )
            # Only the first key encrypts; older ones listed after it only decrypt, and
            # refusing them would block rotating away from a weak key.
            _refuse_weak_secret("DTS_SECRET_KEY", self.secret_key.split(",")[0].strip())
        return self

    @property
    def uses_development_secret(self) -> bool:
        return self.jwt_secret == DEV_JWT_SECRET

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_trusted_proxies(self.trusted_proxies)

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
