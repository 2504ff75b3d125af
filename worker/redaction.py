"""Secret header values kept out of run logs and outputs, even when a target echoes them.

A job's secret headers (Authorization, Cookie, any header marked secret) are sent, never
shown: every log line and output summary passes through the job's `Redactor`, which
replaces each secret value — and, for "Scheme credential" values such as "Bearer abc",
the credential alone — with the mask the API shows. Values shorter than
`WHOLE_TOKEN_BELOW` characters are masked where they stand as a token of their own (not
inside a longer run of letters and digits): a secret "42" is hidden in `"x-key": "42"`
or `key=42`, without turning every "1420" in the log into a mask.

Masking happens before any cut: a secret split by the body-log cap or the summary cap
would no longer be recognised in either half, so `safe_end` moves a cut back to the
start of a secret it would split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.domain.job_spec import MASK, HttpSpec, JobSpec

WHOLE_TOKEN_BELOW = 8

# Not preceded / followed by a letter or digit (Unicode-aware; "_" and punctuation are
# boundaries).
_NOT_AFTER_WORD = r"(?<![^\W_])"
_NOT_BEFORE_WORD = r"(?![^\W_])"


class Redactor:
    """`redactor(text)`: `text` with every secret value masked. Falsy when there are none."""

    __slots__ = ("_pattern", "longest")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {value for value in secrets if value.strip()}
        for value in list(values):
            scheme, _, credential = value.strip().partition(" ")
            if scheme and credential.strip():
                values.add(credential.strip())
        ordered = sorted(values, key=len, reverse=True)  # "Bearer abc" before "abc"
        parts = [
            re.escape(value)
            if len(value) >= WHOLE_TOKEN_BELOW
            else f"{_NOT_AFTER_WORD}{re.escape(value)}{_NOT_BEFORE_WORD}"
            for value in ordered
        ]
        self._pattern = re.compile("|".join(parts)) if parts else None
        self.longest = len(ordered[0]) if ordered else 0

    @classmethod
    def for_spec(cls, spec: JobSpec | None) -> Redactor:
        if not isinstance(spec, HttpSpec):
            return NO_SECRETS
        secrets = [header.value for header in spec.headers if header.secret]
        return cls(secrets) if secrets else NO_SECRETS

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def safe_end(self, text: str, end: int) -> int:
        """`end`, or the start of a secret in `text` that a cut at `end` would split."""
        if self._pattern is None or end >= len(text):
            return end
        for match in self._pattern.finditer(text, max(0, end - self.longest)):
            if match.start() >= end:
                break
            if match.end() > end:
                return match.start()
        return end


NO_SECRETS = Redactor()
