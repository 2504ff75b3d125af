"""Text from clients that no database can store: NUL characters and unpaired surrogates.

JSON allows both (`"\\u0000"`, `"\\ud800"`), but PostgreSQL text cannot hold a NUL and no
UTF-8 encoder accepts a lone surrogate, so such input would fail deep inside a write.
Interfaces check whole inputs here first and answer with the path of the bad string.
"""

from __future__ import annotations

from typing import Any

from app.domain.errors import ValidationError


def _problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired UTF-16 surrogate (e.g. \\ud800), which is not valid Unicode"
    return None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_text(value: Any, field: str = "") -> None:
    """Raise ValidationError naming the first string (key or value) that cannot be stored."""
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            problem = _problem(item)
            if problem:
                raise ValidationError(f"text {problem}", field=path or None)
        elif isinstance(item, dict):
            for key, child in item.items():
                key_text = str(key)
                problem = _problem(key_text)
                if problem:
                    raise ValidationError(f"a field name {problem}", field=path or None)
                stack.append((child, _join(path, key_text)))
        elif isinstance(item, list | tuple):
            stack.extend((child, _join(path, index)) for index, child in enumerate(item))
