"""Encryption at rest for secret values (secret HTTP headers), keyed by `DTS_SECRET_KEY`.

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`) stored as
`enc:v1:<token>`. Any long random string works as a key: the Fernet key is derived from it
with SHA-256. `DTS_SECRET_KEY` may list several keys separated by commas to rotate: the
first encrypts, all of them decrypt; `rotate()` re-encrypts a value under the first key.

In development without `DTS_SECRET_KEY` the key is derived from the JWT secret and a
warning is logged once; production refuses to start without the key (see app.config).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import TYPE_CHECKING

from app.config import Settings

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

log = logging.getLogger("dts.secrets")

PREFIX = "enc:v1:"
_warned_no_key = False


class SecretDecryptError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def derive_fernet_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode("utf-8")).digest())


def _configured_keys(settings: Settings) -> list[str]:
    global _warned_no_key
    keys = [part.strip() for part in (settings.secret_key or "").split(",") if part.strip()]
    if keys:
        return keys
    if not _warned_no_key:
        _warned_no_key = True
        log.warning(
            "DTS_SECRET_KEY is not set: secret headers are encrypted with a key derived from "
            "DTS_JWT_SECRET. Set DTS_SECRET_KEY to a long random string before storing real "
            "secrets (changing it later needs the old key listed after the new one)."
        )
    # Domain-separated so the encryption key is not the JWT signing key itself.
    return ["dts-secret-box:" + settings.jwt_secret]


class SecretBox:
    def __init__(self, settings: Settings) -> None:
        self._keys = [derive_fernet_key(k) for k in _configured_keys(settings)]
        self._multi: MultiFernet | None = None

    @property
    def _fernet(self) -> MultiFernet:
        # `cryptography` costs a process about 8 MB of RSS: it is loaded at the first secret
        # value, so a worker whose jobs have no secret headers never loads it.
        if self._multi is None:
            from cryptography.fernet import Fernet, MultiFernet

            self._multi = MultiFernet([Fernet(key) for key in self._keys])
        return self._multi

    @staticmethod
    def is_encrypted(value: str) -> bool:
        return value.startswith(PREFIX)

    def encrypt(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str) -> str:
        if not self.is_encrypted(value):
            raise SecretDecryptError(f"not an encrypted value (expected the {PREFIX!r} prefix)")
        fernet = self._fernet
        from cryptography.fernet import InvalidToken

        try:
            return fernet.decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretDecryptError(
                "a stored secret cannot be decrypted with DTS_SECRET_KEY; if the key was "
                "changed, list the old key after the new one (comma-separated)"
            ) from None

    def rotate(self, value: str) -> str:
        """Re-encrypt under the first key (after putting a new key in front)."""
        if not self.is_encrypted(value):
            return self.encrypt(value)
        fernet = self._fernet
        from cryptography.fernet import InvalidToken

        try:
            token = fernet.rotate(value[len(PREFIX) :].encode("ascii"))
        except InvalidToken:
            raise SecretDecryptError(
                "a stored secret cannot be decrypted with DTS_SECRET_KEY to rotate it"
            ) from None
        return PREFIX + token.decode("ascii")
