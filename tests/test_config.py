"""Settings: DTS_* names, the brief's aliases, normalised URLs, one-line errors."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

import pytest

from app.config import (
    DEV_JWT_SECRET,
    ConfigError,
    exposed_secret_warning,
    load_settings,
    weak_secret_reason,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "JWT_SECRET", "APP_URL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    import os

    for name in list(os.environ):
        if name.startswith("DTS_"):
            monkeypatch.delenv(name)


def test_defaults_are_a_local_sqlite_file_on_port_4000() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///.dts/dts.db"
    assert settings.port == 4000
    assert settings.jwt_secret == DEV_JWT_SECRET
    assert settings.worker_concurrency == 16


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/dts", "postgresql+asyncpg://u:p@db.example:5432/dts"),
        ("postgresql://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
    ],
)
def test_brief_aliases_and_database_urls(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    monkeypatch.setenv("APP_URL", "https://dts.example.com/")
    monkeypatch.setenv("PORT", "8080")
    settings = load_settings()
    assert settings.database_url == expected
    assert settings.jwt_secret == "s" * 40
    assert settings.app_url == "https://dts.example.com"
    assert settings.port == 8080


@pytest.mark.parametrize(("value", "expected"), [(None, "aiohttp"), ("httpx", "httpx")])
def test_http_client_defaults_to_aiohttp(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str
) -> None:
    if value is not None:
        monkeypatch.setenv("DTS_HTTP_CLIENT", value)
    assert load_settings().http_client == expected


def test_dts_name_wins_over_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTS_PORT", "5000")
    monkeypatch.setenv("PORT", "6000")
    assert load_settings().port == 5000


@pytest.mark.parametrize(
    ("name", "value", "names_it"),
    [
        ("DTS_DATABASE_URL", "nonsense", "DTS_DATABASE_URL"),
        ("DTS_DATABASE_URL", "mysql://x@y/z", "DTS_DATABASE_URL"),
        ("DTS_PORT", "eighty", "DTS_PORT"),
        ("DTS_PORT", "70000", "DTS_PORT"),
        ("DTS_APP_URL", "localhost", "DTS_APP_URL"),
        ("DTS_SMTP_URL", "http://mail", "DTS_SMTP_URL"),
        ("DTS_WORKER_CONCURRENCY", "0", "DTS_WORKER_CONCURRENCY"),
        ("DTS_HTTP_ALLOW_PRIVATE", "perhaps", "DTS_HTTP_ALLOW_PRIVATE"),
        ("DTS_HTTP_CLIENT", "requests", "DTS_HTTP_CLIENT"),
        ("DTS_SCHEDULE_LOOKAHEAD", "-1", "DTS_SCHEDULE_LOOKAHEAD"),
    ],
)
def test_malformed_setting_fails_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, names_it: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert names_it in message
    assert "\n" not in message


def test_production_refuses_the_default_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTS_ENV", "production")
    with pytest.raises(ConfigError, match="DTS_JWT_SECRET"):
        load_settings()
    monkeypatch.setenv("DTS_JWT_SECRET", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        load_settings()
    monkeypatch.setenv("DTS_JWT_SECRET", secrets.token_urlsafe(48))
    with pytest.raises(ConfigError, match="DTS_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("DTS_SECRET_KEY", secrets.token_urlsafe(48))
    assert load_settings().env == "production"


WEAK_SECRETS = [
    pytest.param("k" * 48, "only 1 different characters", id="one-character"),
    pytest.param("password" * 6, "only 7 different characters", id="password-repeated"),
    pytest.param("test-secret-" + "x" * 32, "only 7 different characters", id="padded"),
    pytest.param("Password1!" * 4, "repeats itself", id="repeated-with-variety"),
    pytest.param("passwordpassword1234passwordpassword", "repeats itself", id="mostly-repeated"),
    pytest.param("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", "runs of", id="alphabet"),
    pytest.param("qwertyuiopasdfghjklzxcvbnm" * 2, "repeats itself", id="keyboard-twice"),
]


@pytest.mark.parametrize("name", ["DTS_JWT_SECRET", "DTS_SECRET_KEY"])
@pytest.mark.parametrize(("secret", "reason"), WEAK_SECRETS)
def test_production_refuses_guessable_secrets_whatever_their_length(
    monkeypatch: pytest.MonkeyPatch, name: str, secret: str, reason: str
) -> None:
    monkeypatch.setenv("DTS_ENV", "production")
    monkeypatch.setenv("DTS_JWT_SECRET", secrets.token_urlsafe(48))
    monkeypatch.setenv("DTS_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv(name, secret)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"{name} is too weak for production: " in message and reason in message
    assert "python -c 'import secrets; print(secrets.token_urlsafe(48))'" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_urlsafe(48),  # what the message suggests
        lambda: secrets.token_hex(16),  # openssl rand -hex 16: 128 bits in 32 characters
        lambda: secrets.token_hex(32),
        lambda: base64.b64encode(secrets.token_bytes(32)).decode(),  # Render's generateValue
    ],
    ids=["token_urlsafe-48", "hex-16", "hex-32", "base64-32"],
)
def test_generated_secrets_are_accepted(make: Callable[[], str]) -> None:
    for _ in range(200):  # random: many draws, so a borderline rule would show up
        secret = make()
        assert weak_secret_reason(secret) is None, secret


def test_only_the_first_secret_key_must_be_strong(monkeypatch: pytest.MonkeyPatch) -> None:
    """Older keys after the comma only decrypt: rotating away from a weak key must work."""
    monkeypatch.setenv("DTS_ENV", "production")
    monkeypatch.setenv("DTS_JWT_SECRET", secrets.token_urlsafe(48))
    monkeypatch.setenv("DTS_SECRET_KEY", f"{secrets.token_urlsafe(48)},old-weak-key")
    assert load_settings().env == "production"
    monkeypatch.setenv("DTS_SECRET_KEY", f"old-weak-key,{secrets.token_urlsafe(48)}")
    with pytest.raises(ConfigError, match="DTS_SECRET_KEY is too weak"):
        load_settings()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_no_secret_warning_on_loopback(host: str) -> None:
    assert exposed_secret_warning(load_settings(), host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "dts.internal"])
def test_development_secret_on_a_reachable_bind_gets_a_loud_warning(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    warning = exposed_secret_warning(load_settings(), host)
    assert warning is not None
    assert f"dts listens on {host}" in warning and "DEVELOPMENT JWT secret" in warning
    assert "secrets.token_urlsafe(48)" in warning and "127.0.0.1" in warning
    monkeypatch.setenv("DTS_JWT_SECRET", "password" * 6)
    weak = exposed_secret_warning(load_settings(), host)
    assert weak is not None and "weak DTS_JWT_SECRET" in weak
    monkeypatch.setenv("DTS_JWT_SECRET", secrets.token_urlsafe(48))
    assert exposed_secret_warning(load_settings(), host) is None


@pytest.mark.parametrize(
    "value", ["10.0.0.0/33", "proxy.example.com", "*", "10.0.0.1, 300.1.1.1", "10.0.0.0/8;fd00::/8"]
)
def test_bad_trusted_proxies_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DTS_TRUSTED_PROXIES", value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("configuration error: DTS_TRUSTED_PROXIES: ")
    assert "\n" not in message


def test_trusted_proxies_default_to_none_and_accept_ips_and_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().trusted_proxy_networks == ()
    monkeypatch.setenv("DTS_TRUSTED_PROXIES", " 127.0.0.1, 10.0.0.0/8 ,fd00::/8,")
    settings = load_settings()
    assert settings.trusted_proxies == "127.0.0.1/32, 10.0.0.0/8, fd00::/8"
    assert [str(n) for n in settings.trusted_proxy_networks] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "fd00::/8",
    ]
