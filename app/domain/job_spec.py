"""What a job does: the HTTP request or the script argv/cwd/env, validated and normalised.

Input comes from REST/GraphQL as camelCase dicts; `parse_job_spec` turns it into a frozen
`HttpSpec` or `ScriptSpec` or raises `ValidationError` naming the field (`http.url`,
`http.headers[2].name`, `script.env.LD_PRELOAD`, ...). `spec_to_dict`/`spec_from_dict`
round-trip a spec through the jobs table's JSON column.

Everything here is pure except `resolve_cwd`, which looks at the filesystem because a
working directory can only be judged after following symlinks.

Decisions worth knowing:
- URLs carry no credentials (`https://user:pass@host`): they would be shown and logged
  wherever the URL is; put them in a header marked secret instead.
- Headers that obviously carry credentials (`Authorization`, `Cookie`, `X-Api-Key`, ...)
  are always secret, whatever the input says, so the original brief's plain dict form
  never exposes a token in API output.
- Headers dts sets or that control message framing (`Host`, `Content-Length`,
  `Transfer-Encoding`, `Connection`, `Idempotency-Key`, `X-DTS-*`, ...) are refused.
- `successStatuses` add to 2xx; they do not replace it.
- Script env may not set `LD_*`/`DYLD_*` (loader injection hidden from command/args),
  `BASH_ENV`/`ENV` (shell start-up files run before the script), or `DTS_*` (names dts
  sets for the run). `PATH`, `PYTHONPATH`, `NODE_OPTIONS`, `NODE_PATH` are ordinary job
  configuration and allowed: the command itself is already the job's choice.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from app.domain.errors import ValidationError, shown

JobType = Literal["http", "script"]

MASK = "••••••"

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_URL_LENGTH = 2048
MAX_HEADERS = 50
MAX_HEADER_NAME_LENGTH = 256
MAX_HEADER_VALUE_LENGTH = 8192
MAX_HEADERS_TOTAL_BYTES = 32 * 1024
MAX_BODY_BYTES = 256 * 1024
MAX_SUCCESS_STATUSES = 50

MAX_COMMAND_LENGTH = 4096
MAX_ARGS = 256
MAX_ARGS_TOTAL_BYTES = 64 * 1024
MAX_CWD_LENGTH = 4096
MAX_ENV_VARS = 100
MAX_ENV_TOTAL_BYTES = 32 * 1024

# RFC 7230 token: the characters a header name may use.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Control characters other than horizontal tab end or corrupt a header line.
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_LABEL_CHARS = re.compile(r"^[A-Za-z0-9\-._]+$")

ALWAYS_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}
)
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
        "idempotency-key",
    }
)
RESERVED_HEADER_PREFIX = "x-dts-"

ENV_DENYLIST = frozenset({"BASH_ENV", "ENV"})
ENV_DENIED_PREFIXES = ("LD_", "DYLD_", "DTS_")


@dataclass(frozen=True, slots=True)
class Header:
    name: str
    value: str
    secret: bool = False


@dataclass(frozen=True, slots=True)
class HttpSpec:
    method: str
    url: str
    headers: tuple[Header, ...] = ()
    body: str | None = None
    body_is_json: bool = False
    success_statuses: tuple[int, ...] | None = None
    follow_redirects: bool = False

    def masked(self) -> HttpSpec:
        """A copy safe to show: secret header values replaced by a mask."""
        return self.map_secrets(lambda _value: MASK)

    def map_secrets(self, transform: Callable[[str], str]) -> HttpSpec:
        """A copy with `transform` applied to each secret header value (encrypt/decrypt)."""
        headers = tuple(
            replace(h, value=transform(h.value)) if h.secret else h for h in self.headers
        )
        return replace(self, headers=headers)

    def is_success(self, status: int) -> bool:
        return 200 <= status < 300 or status in (self.success_statuses or ())


@dataclass(frozen=True, slots=True)
class ScriptSpec:
    command: str
    args: tuple[str, ...] = ()
    cwd: str = "."
    env: tuple[tuple[str, str], ...] = ()

    def masked(self) -> ScriptSpec:
        return self


JobSpec = HttpSpec | ScriptSpec


# ---------------------------------------------------------------------------------------
# Entry points


def parse_job_spec(job_type: str, data: Any) -> JobSpec:
    """Validate API input for a job of `job_type` ("http" or "script")."""
    if job_type == "http":
        return parse_http_spec(data)
    if job_type == "script":
        return parse_script_spec(data)
    raise ValidationError(
        f"unknown job type {job_type!r}; expected 'http' or 'script'", field="type"
    )


def spec_to_dict(spec: JobSpec) -> dict[str, Any]:
    """The JSON stored in the jobs table (and, after `masked()`, shown by the API)."""
    if isinstance(spec, HttpSpec):
        body: Any = json.loads(spec.body) if spec.body_is_json and spec.body else spec.body
        return {
            "method": spec.method,
            "url": spec.url,
            "headers": [
                {"name": h.name, "value": h.value, "secret": h.secret} for h in spec.headers
            ],
            "body": body,
            "successStatuses": list(spec.success_statuses) if spec.success_statuses else None,
            "followRedirects": spec.follow_redirects,
        }
    return {
        "command": spec.command,
        "args": list(spec.args),
        "cwd": spec.cwd,
        "env": dict(spec.env),
    }


def spec_from_dict(job_type: str, data: Any) -> JobSpec:
    """Read a stored spec back. Stored secret values may be ciphertext, longer than the
    input limit, so value lengths are not re-checked; structure and safety rules are."""
    if job_type == "http":
        return parse_http_spec(data, stored=True)
    return parse_job_spec(job_type, data)


# ---------------------------------------------------------------------------------------
# HTTP


def parse_http_spec(data: Any, *, stored: bool = False) -> HttpSpec:
    if not isinstance(data, Mapping):
        raise ValidationError("expected an object with method and url", field="http")
    _reject_unknown(
        data, {"method", "url", "headers", "body", "successStatuses", "followRedirects"}, "http"
    )
    method = _parse_method(data.get("method", "GET"))
    url = validate_url(data.get("url"), field="http.url")
    headers = _parse_headers(data.get("headers"), stored=stored)
    body, body_is_json = _parse_body(data.get("body"))
    if body_is_json and not any(h.name.lower() == "content-type" for h in headers):
        headers = (*headers, Header("Content-Type", "application/json"))
    return HttpSpec(
        method=method,
        url=url,
        headers=headers,
        body=body,
        body_is_json=body_is_json,
        success_statuses=_parse_statuses(data.get("successStatuses")),
        follow_redirects=_parse_bool(data.get("followRedirects", False), "http.followRedirects"),
    )


def _parse_method(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in HTTP_METHODS:
        raise ValidationError(
            f"method must be one of {', '.join(HTTP_METHODS)}, not {shown(value)}",
            field="http.method",
        )
    return value.upper()


def validate_url(value: Any, *, field: str) -> str:
    """An absolute http(s) URL with a host, no credentials, no whitespace or controls."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("a URL is required, e.g. https://example.com/hook", field=field)
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"the URL is longer than {MAX_URL_LENGTH} characters", field=field)
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValidationError(
            "the URL contains whitespace or control characters; percent-encode them", field=field
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValidationError(f"{url!r} is not a valid URL ({error})", field=field) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        given = f"{scheme}:" if scheme else "no scheme"
        raise ValidationError(
            f"{given} is not allowed; the URL must start with http:// or https://", field=field
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(
            "credentials in the URL are not allowed; send them in a header marked secret "
            "(e.g. Authorization)",
            field=field,
        )
    host = parts.hostname
    if not host:
        raise ValidationError(f"{url!r} has no host", field=field)
    if port == 0:
        raise ValidationError("port 0 is not a valid port", field=field)
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ValidationError(f"{host!r} is not a valid IPv6 address", field=field) from None
    else:
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValidationError(f"{host!r} is not a valid host name", field=field) from None
        if not _HOST_LABEL_CHARS.match(ascii_host) or ".." in ascii_host:
            raise ValidationError(f"{host!r} is not a valid host name", field=field)
    return url


def _parse_headers(value: Any, *, stored: bool) -> tuple[Header, ...]:
    if value is None:
        return ()
    items: list[tuple[str, Any, Any, Any]] = []  # (field prefix, name, value, secret)
    if isinstance(value, Mapping):
        for name, header_value in value.items():
            items.append((f"http.headers.{name}", name, header_value, False))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            prefix = f"http.headers[{index}]"
            if not isinstance(item, Mapping):
                raise ValidationError("expected an object {name, value, secret}", field=prefix)
            _reject_unknown(item, {"name", "value", "secret"}, prefix)
            items.append((prefix, item.get("name"), item.get("value"), item.get("secret", False)))
    else:
        raise ValidationError(
            "expected an object {name: value} or a list of {name, value, secret}",
            field="http.headers",
        )
    if len(items) > MAX_HEADERS:
        raise ValidationError(f"at most {MAX_HEADERS} headers are allowed", field="http.headers")

    headers: list[Header] = []
    total = 0
    for prefix, name, header_value, secret in items:
        is_list_item = prefix.endswith("]")
        name_field = f"{prefix}.name" if is_list_item else prefix
        value_field = f"{prefix}.value" if is_list_item else prefix
        if not isinstance(name, str) or not name:
            raise ValidationError("a header name is required", field=name_field)
        if len(name) > MAX_HEADER_NAME_LENGTH or not _TOKEN.match(name):
            raise ValidationError(
                f"{name!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                field=name_field,
            )
        lowered = name.lower()
        if lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_HEADER_PREFIX):
            raise ValidationError(
                f"{name!r} is set by dts or by the HTTP client and cannot be overridden",
                field=name_field,
            )
        if isinstance(header_value, int | float) and not isinstance(header_value, bool):
            header_value = str(header_value)
        if not isinstance(header_value, str):
            raise ValidationError("a header value must be a string", field=value_field)
        if _HEADER_VALUE_FORBIDDEN.search(header_value):
            raise ValidationError(
                f"the value of {name!r} contains a line break or control character",
                field=value_field,
            )
        header_value = header_value.strip(" \t")
        if not stored and len(header_value) > MAX_HEADER_VALUE_LENGTH:
            raise ValidationError(
                f"the value of {name!r} is longer than {MAX_HEADER_VALUE_LENGTH} characters",
                field=value_field,
            )
        is_secret = _parse_bool(secret, f"{prefix}.secret") or lowered in ALWAYS_SECRET_HEADERS
        total += len(name) + len(header_value.encode())
        headers.append(Header(name=name, value=header_value, secret=is_secret))
    if not stored and total > MAX_HEADERS_TOTAL_BYTES:
        raise ValidationError(
            f"headers add up to more than {MAX_HEADERS_TOTAL_BYTES // 1024} KiB",
            field="http.headers",
        )
    return tuple(headers)


def _parse_body(value: Any) -> tuple[str | None, bool]:
    if value is None:
        return None, False
    if isinstance(value, str):
        body, is_json = value, False
    elif isinstance(value, Mapping | list):
        try:
            body = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValidationError(
                f"the body is not valid JSON ({error})", field="http.body"
            ) from None
        except RecursionError:
            raise ValidationError(
                "the JSON nests too deeply to be sent", field="http.body"
            ) from None
        is_json = True
    else:
        raise ValidationError(
            "the body must be a string, or a JSON object or array", field="http.body"
        )
    if len(body.encode()) > MAX_BODY_BYTES:
        raise ValidationError(
            f"the body is larger than {MAX_BODY_BYTES // 1024} KiB", field="http.body"
        )
    return body, is_json


def _parse_statuses(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError("expected a list of status codes", field="http.successStatuses")
    if len(value) > MAX_SUCCESS_STATUSES:
        raise ValidationError(
            f"at most {MAX_SUCCESS_STATUSES} status codes", field="http.successStatuses"
        )
    statuses: set[int] = set()
    for index, status in enumerate(value):
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValidationError(
                f"{status!r} is not an HTTP status code (100-599)",
                field=f"http.successStatuses[{index}]",
            )
        statuses.add(status)
    return tuple(sorted(statuses)) or None


# ---------------------------------------------------------------------------------------
# Network targets (the SSRF rule; the worker applies it again to every resolved address)


def forbidden_address_reason(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> str | None:
    """Why a job may not call `address` unless private targets are allowed, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = forbidden_address_reason(embedded)
            return f"{reason} (embedded in an IPv6 address)" if reason else None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if isinstance(address, ipaddress.IPv6Address) and address in _IPV6_SITE_LOCAL:
        return "a site-local address"
    if not address.is_global:
        return "not a public address"
    return None


_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV6_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a v6 address tunnels to (mapped, 6to4, Teredo, NAT64, compatible)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names without DNS: `10.0.0.1`, `::1`, and the legacy IPv4
    spellings the resolver also accepts (`127.1`, `2130706433`, `0x7f.0.0.1`)."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(ch in "0123456789abcdefxABCDEFX." for ch in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def refusal_message(host: str, address: str, reason: str) -> str:
    where = f"{address} is" if host == address else f"{host} resolves to {address},"
    return f"refused: {where} {reason}; set DTS_HTTP_ALLOW_PRIVATE=true to allow private targets"


def check_http_target(url: str, *, allow_private: bool, field: str = "http.url") -> None:
    """Early refusal at job creation of targets that are private without asking DNS
    (literal addresses, `localhost`). Names are checked again, resolved, when the worker
    connects; that check is the one that counts."""
    if allow_private:
        return
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise ValidationError(refusal_message(host, "127.0.0.1", "a loopback address"), field=field)
    address = literal_address(host)
    if address is not None:
        reason = forbidden_address_reason(address)
        if reason:
            raise ValidationError(refusal_message(str(address), str(address), reason), field=field)


# ---------------------------------------------------------------------------------------
# Script


def parse_script_spec(data: Any) -> ScriptSpec:
    if not isinstance(data, Mapping):
        raise ValidationError("expected an object with command, args, cwd, env", field="script")
    _reject_unknown(data, {"command", "args", "cwd", "env"}, "script")

    command = data.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ValidationError('a command is required, e.g. "node"', field="script.command")
    if "\x00" in command or len(command) > MAX_COMMAND_LENGTH:
        raise ValidationError(
            "the command contains a NUL byte or is too long", field="script.command"
        )

    raw_args = data.get("args") or []
    if not isinstance(raw_args, list):
        raise ValidationError("expected a list of strings", field="script.args")
    if len(raw_args) > MAX_ARGS:
        raise ValidationError(f"at most {MAX_ARGS} arguments", field="script.args")
    args: list[str] = []
    for index, arg in enumerate(raw_args):
        if isinstance(arg, int | float) and not isinstance(arg, bool):
            arg = str(arg)
        if not isinstance(arg, str) or "\x00" in arg:
            raise ValidationError(
                "an argument must be a string without NUL bytes", field=f"script.args[{index}]"
            )
        args.append(arg)
    if sum(len(a.encode()) for a in args) > MAX_ARGS_TOTAL_BYTES:
        raise ValidationError(
            f"arguments add up to more than {MAX_ARGS_TOTAL_BYTES // 1024} KiB", field="script.args"
        )

    cwd = data.get("cwd") or "."
    if not isinstance(cwd, str) or "\x00" in cwd or len(cwd) > MAX_CWD_LENGTH:
        raise ValidationError('expected a directory path such as "./"', field="script.cwd")

    return ScriptSpec(command=command, args=tuple(args), cwd=cwd, env=_parse_env(data.get("env")))


def _parse_env(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ValidationError("expected an object {NAME: value}", field="script.env")
    if len(value) > MAX_ENV_VARS:
        raise ValidationError(f"at most {MAX_ENV_VARS} variables", field="script.env")
    env: list[tuple[str, str]] = []
    total = 0
    for name, env_value in value.items():
        field = f"script.env.{name}"
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise ValidationError(
                f"{name!r} is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)", field=field
            )
        if name in ENV_DENYLIST or name.startswith(ENV_DENIED_PREFIXES):
            raise ValidationError(
                f"{name} may not be set by a job: it changes how the process starts "
                "(LD_*, DYLD_*, BASH_ENV, ENV) or is set by dts (DTS_*)",
                field=field,
            )
        if isinstance(env_value, int | float) and not isinstance(env_value, bool):
            env_value = str(env_value)
        if not isinstance(env_value, str) or "\x00" in env_value:
            raise ValidationError("a value must be a string without NUL bytes", field=field)
        total += len(name) + len(env_value.encode())
        env.append((name, env_value))
    if total > MAX_ENV_TOTAL_BYTES:
        raise ValidationError(
            f"variables add up to more than {MAX_ENV_TOTAL_BYTES // 1024} KiB", field="script.env"
        )
    return tuple(env)


def resolve_cwd(cwd: str, script_root: Path) -> Path:
    """The real directory `cwd` names inside `script_root`, symlinks followed.

    Called when a job is saved and again just before each run, because the filesystem
    may have changed in between (a directory replaced by a symlink pointing elsewhere).
    """
    try:
        root = script_root.resolve(strict=True)
    except OSError:
        raise ValidationError(
            f"the script root {script_root} does not exist; check DTS_SCRIPT_ROOT",
            field="script.cwd",
        ) from None
    if "\x00" in cwd:
        raise ValidationError("the directory contains a NUL byte", field="script.cwd")
    candidate = Path(cwd)
    if not candidate.is_absolute():
        candidate = root / candidate
    outside = ValidationError(
        f"{cwd!r} is outside the script root; use a directory inside DTS_SCRIPT_ROOT "
        f'(relative paths start there, e.g. "./")',
        field="script.cwd",
    )
    try:
        resolved = candidate.resolve(strict=True)
    except FileNotFoundError:
        # Say "outside" rather than "missing" when the lexical path already leaves the root.
        lexical = Path(os.path.normpath(candidate))
        if not lexical.is_relative_to(root):
            raise outside from None
        raise ValidationError(
            f"{cwd!r} does not exist in the script root", field="script.cwd"
        ) from None
    except (OSError, RuntimeError) as error:  # permission denied, symlink loop
        raise ValidationError(f"{cwd!r} cannot be used ({error})", field="script.cwd") from None
    if not resolved.is_relative_to(root):
        raise outside
    if not resolved.is_dir():
        raise ValidationError(f"{cwd!r} is not a directory", field="script.cwd")
    return resolved


# ---------------------------------------------------------------------------------------
# Small shared parsers


def _parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    raise ValidationError("expected true or false", field=field)


def _reject_unknown(data: Mapping[str, Any], allowed: set[str], field: str) -> None:
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]!r}; expected {', '.join(sorted(allowed))}",
            field=f"{field}.{unknown[0]}",
        )
