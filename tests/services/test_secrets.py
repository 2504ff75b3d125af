"""SecretBox: values encrypted at rest with DTS_SECRET_KEY, key rotation by listing keys."""

from __future__ import annotations

import logging

import pytest

from app.config import Settings
from app.services import secrets as secrets_module
from app.services.secrets import SecretBox, SecretDecryptError


def box(settings: Settings, key: str | None) -> SecretBox:
    return SecretBox(settings.model_copy(update={"secret_key": key}))


def test_round_trip_hides_the_plaintext(plain_settings: Settings) -> None:
    secret_box = box(plain_settings, "any long random string will do, really")
    value = "Bearer sk_live_0123456789abcdef"
    sealed = secret_box.encrypt(value)
    assert sealed.startswith("enc:v1:") and SecretBox.is_encrypted(sealed)
    assert value not in sealed and "sk_live" not in sealed
    assert secret_box.encrypt(value) != sealed  # a fresh IV every time
    assert secret_box.decrypt(sealed) == value
    assert secret_box.decrypt(secret_box.encrypt("ünïcødé ✓")) == "ünïcødé ✓"
    assert not SecretBox.is_encrypted(value)


def test_another_key_cannot_decrypt(plain_settings: Settings) -> None:
    sealed = box(plain_settings, "key one " * 4).encrypt("hunter2")
    with pytest.raises(SecretDecryptError, match="list the old key after the new one"):
        box(plain_settings, "key two " * 4).decrypt(sealed)
    with pytest.raises(SecretDecryptError, match="not an encrypted value"):
        box(plain_settings, "key one " * 4).decrypt("hunter2")


def test_rotation_with_several_keys(plain_settings: Settings) -> None:
    old_key, new_key = "the old key " * 3, "the new key " * 3
    sealed_with_old = box(plain_settings, old_key).encrypt("hunter2")
    rotating = box(plain_settings, f"{new_key}, {old_key}")
    assert rotating.decrypt(sealed_with_old) == "hunter2"
    rotated = rotating.rotate(sealed_with_old)
    assert box(plain_settings, new_key).decrypt(rotated) == "hunter2"
    with pytest.raises(SecretDecryptError):
        box(plain_settings, old_key).decrypt(rotating.encrypt("fresh"))


def test_without_a_key_development_derives_one_and_warns_once(
    plain_settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets_module, "_warned_no_key", False)
    caplog.set_level(logging.WARNING, logger="dts.secrets")
    first = box(plain_settings, None)
    second = box(plain_settings, None)
    assert second.decrypt(first.encrypt("hunter2")) == "hunter2"
    assert caplog.text.count("DTS_SECRET_KEY is not set") == 1
    with pytest.raises(SecretDecryptError):  # a different JWT secret derives another key
        box(plain_settings.model_copy(update={"jwt_secret": "y" * 40}), None).decrypt(
            first.encrypt("x")
        )
