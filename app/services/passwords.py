"""Password rules and hashing (argon2id via pwdlib).

Hashing takes about a tenth of a second of CPU on purpose; the `*_async` forms run it in a
thread so one login does not stall every other request on the event loop.

The most common passwords are refused: they are what an attacker tries first, and the
sign-in delays (per account and address, app/services/throttle.py) leave an attacker with
many addresses a few guesses each. `common-passwords.txt.gz` beside this file holds the
8,354 entries of at least 8 characters from the 20,000 most common passwords compiled by
Royce Williams (https://gist.github.com/roycewilliams/226886fd01572964e1431ac8afc999ce,
lowercased, as shipped by Django under the BSD licence), most common first.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
from pathlib import Path

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.domain.errors import ValidationError

MIN_LENGTH = 8
# Bounded so nobody can make the server hash megabytes per login attempt.
MAX_LENGTH = 128
MIN_DISTINCT_CHARACTERS = 4
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list, lowercased; read once (a few milliseconds)."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as file:
        return frozenset(line.strip() for line in file if line.strip())


_hasher = PasswordHash((Argon2Hasher(),))


def check_password_rules(password: str, field: str = "password") -> None:
    """Raise ValidationError naming the rule; cheap for any input size (no hashing)."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"must be at least {MIN_LENGTH} characters long", field=field)
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"must be at most {MAX_LENGTH} characters long", field=field)
    if password.strip() == "":
        raise ValidationError("must not be only spaces", field=field)
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        raise ValidationError(
            f"must use at least {MIN_DISTINCT_CHARACTERS} different characters", field=field
        )
    if password.strip().lower() in common_passwords():
        raise ValidationError(
            "is one of the most common passwords, which are guessed first; choose another "
            "(a few unrelated words make a strong one)",
            field=field,
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """(matches, new hash if the stored one should be upgraded)."""
    if len(password) > MAX_LENGTH:
        return False, None
    return _hasher.verify_and_update(password, password_hash)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, password_hash: str) -> tuple[bool, str | None]:
    if len(password) > MAX_LENGTH:
        return False, None
    return await asyncio.to_thread(verify_password, password, password_hash)


# A hash of a random password, verified against when the account does not exist so that
# a login for an unknown e-mail takes as long as one for a known e-mail.
DUMMY_HASH = _hasher.hash("dts-no-such-user-timing-equaliser")
