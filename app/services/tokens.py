"""Token mechanics: signed access JWTs, and opaque random tokens stored only as hashes.

Access tokens are HS256 JWTs (`iss` dts, `aud` dts-api). Verification pins the algorithm,
so a token claiming `alg: none` or an asymmetric algorithm is refused before its signature
is even considered. Expiry is checked against the injected clock rather than PyJWT's
wall clock, so tests can travel in time and all processes share one notion of "now".

Opaque tokens (refresh, password reset, API tokens) are 32 random bytes; the database
keeps only their SHA-256, so a leaked table cannot be replayed. SHA-256 without a salt
is right here: the input is random and long, not a guessable password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from app.domain.errors import TokenExpired, Unauthenticated

ALGORITHM = "HS256"
ISSUER = "dts"
AUDIENCE = "dts-api"
# Tolerated clock difference between the API processes that issue and check tokens.
LEEWAY_SECONDS = 5
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "jti")

API_TOKEN_PREFIX = "dts_"  # noqa: S105 - a marker, not a secret
# A user id as `sub`: a positive 64-bit integer written plainly (no sign, spaces, `_`).
SUBJECT = re.compile(r"[1-9][0-9]{0,18}")
MAX_USER_ID = 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

# How much of an API token is kept in clear for lists ("dts_AbCd1234…"): 8 random chars.
API_TOKEN_DISPLAY_LENGTH = len(API_TOKEN_PREFIX) + 8


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    role: str
    jti: str
    issued_at: int
    expires_at: int
    # `iat` in microseconds: revocation compares it with the account's cutoff, so a token
    # issued in the same second as, but before, a password change is refused too.
    issued_at_us: int


def epoch_microseconds(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    return (moment - EPOCH) // MICROSECOND


def new_opaque_token(nbytes: int = 32) -> str:
    """A URL-safe random token (43 characters for 32 bytes)."""
    return secrets.token_urlsafe(nbytes)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + new_opaque_token()


def is_api_token(token: str) -> bool:
    return token.startswith(API_TOKEN_PREFIX)


def hash_token(token: str) -> str:
    """The stored form of an opaque token: hex SHA-256 (64 characters)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def encode_access_token(
    secret: str, *, user_id: int, role: str, now: datetime, lifetime: timedelta
) -> str:
    issued_us = epoch_microseconds(now)
    issued = issued_us // 1_000_000
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "iat": issued,
        "iat_us": issued_us,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": new_opaque_token(16),
        "role": role,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(secret: str, token: str, *, now: datetime) -> AccessClaims:
    """Verify signature, algorithm, issuer, audience and expiry; raise Unauthenticated."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise Unauthenticated("access token is malformed; sign in again") from None
    if header.get("alg") != ALGORITHM:
        raise Unauthenticated(
            f"access token uses algorithm {header.get('alg')!r}; only {ALGORITHM} is accepted"
        )
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Time checks are ours (below), against the injected clock.
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise Unauthenticated("access token signature is invalid; sign in again") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated(
            f"access token is not meant for this API (audience must be {AUDIENCE!r})"
        ) from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated(
            f"access token was not issued by dts (issuer must be {ISSUER!r})"
        ) from None
    except jwt.MissingRequiredClaimError as error:
        raise Unauthenticated(f"access token lacks the {error.claim!r} claim") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("access token is malformed; sign in again") from None

    subject = claims["sub"]
    if not isinstance(subject, str) or not SUBJECT.fullmatch(subject):
        raise Unauthenticated("access token is malformed (bad subject); sign in again")
    user_id = int(subject)
    if user_id > MAX_USER_ID:
        raise Unauthenticated("access token is malformed (bad subject); sign in again")
    try:
        expires_at = _whole_number(claims["exp"])
        issued_at = _whole_number(claims["iat"])
        raw_us = claims.get("iat_us")
        issued_at_us = issued_at * 1_000_000 if raw_us is None else _whole_number(raw_us)
    except (TypeError, ValueError, OverflowError):
        raise Unauthenticated("access token is malformed; sign in again") from None
    if issued_at_us // 1_000_000 != issued_at:
        raise Unauthenticated("access token is malformed (iat_us disagrees with iat)")
    current = now.timestamp()
    if expires_at <= current - LEEWAY_SECONDS:
        raise TokenExpired("access token expired; refresh it")
    if issued_at > current + LEEWAY_SECONDS:
        raise Unauthenticated("access token is issued in the future; check the server clocks")
    return AccessClaims(
        user_id=user_id,
        role=str(claims.get("role", "")),
        jti=str(claims["jti"]),
        issued_at=issued_at,
        expires_at=expires_at,
        issued_at_us=issued_at_us,
    )


def _whole_number(value: object) -> int:
    """A JSON number claim as an int; refuses booleans, strings, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    number = int(value)  # OverflowError for infinities, ValueError for NaN
    if abs(number) > 2**53:
        raise ValueError("out of range")
    return number
