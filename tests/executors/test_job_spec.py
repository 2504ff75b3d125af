"""Job spec validation: a table of inputs a reader can check by eye."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import pytest

from app.domain.errors import ValidationError
from app.domain.job_spec import (
    MASK,
    Header,
    HttpSpec,
    ScriptSpec,
    check_http_target,
    forbidden_address_reason,
    parse_job_spec,
    resolve_cwd,
    spec_from_dict,
    spec_to_dict,
)


def test_the_briefs_script_example_is_accepted() -> None:
    spec = parse_job_spec("script", {"command": "node", "args": ["scripts/hello.js"], "cwd": "./"})
    assert spec == ScriptSpec(command="node", args=("scripts/hello.js",), cwd="./", env=())


def test_http_spec_with_dict_headers_and_json_body() -> None:
    spec = parse_job_spec(
        "http",
        {
            "method": "post",
            "url": "https://example.com/hook?x=1",
            "headers": {"X-Team": "ops", "Authorization": "Bearer t0ken"},
            "body": {"hello": "wörld", "n": [1, 2]},
        },
    )
    assert isinstance(spec, HttpSpec)
    assert spec.method == "POST"
    assert spec.body == '{"hello":"wörld","n":[1,2]}'
    assert spec.body_is_json
    assert spec.headers == (
        Header("X-Team", "ops", secret=False),
        Header("Authorization", "Bearer t0ken", secret=True),  # always secret
        Header("Content-Type", "application/json", secret=False),
    )


def test_http_spec_with_list_headers_keeps_secret_flag_and_content_type() -> None:
    spec = parse_job_spec(
        "http",
        {
            "method": "PUT",
            "url": "http://example.com",
            "headers": [
                {"name": "X-Signature", "value": "abc", "secret": True},
                {"name": "content-type", "value": "application/vnd.api+json"},
            ],
            "body": [1, 2],
            "successStatuses": [404, 409, 404],
            "followRedirects": True,
        },
    )
    assert isinstance(spec, HttpSpec)
    assert [h.secret for h in spec.headers] == [True, False]
    assert len(spec.headers) == 2  # no second Content-Type
    assert spec.success_statuses == (404, 409)
    assert spec.follow_redirects
    assert spec.is_success(204) and spec.is_success(409) and not spec.is_success(500)


BAD_HTTP: list[tuple[dict[str, Any], str, str]] = [
    # (input, field named, words in the message)
    ({"method": "GET", "url": "file:///etc/passwd"}, "http.url", "file:"),
    ({"method": "GET", "url": "gopher://example.com/"}, "http.url", "gopher:"),
    ({"method": "GET", "url": "ftp://example.com/"}, "http.url", "http://"),
    ({"method": "GET", "url": "example.com/path"}, "http.url", "no scheme"),
    ({"method": "GET", "url": "http:///path"}, "http.url", "no host"),
    ({"method": "GET", "url": "https://user:pw@example.com/"}, "http.url", "credentials"),
    ({"method": "GET", "url": "https://exa mple.com/"}, "http.url", "whitespace"),
    ({"method": "GET", "url": "https://example.com:99999/"}, "http.url", "not a valid URL"),
    ({"method": "GET", "url": "https://" + "a" * 3000 + ".com"}, "http.url", "longer"),
    ({"method": "GET"}, "http.url", "required"),
    ({"method": "FETCH", "url": "https://example.com"}, "http.method", "FETCH"),
    ({"method": "TRACE", "url": "https://example.com"}, "http.method", "must be one of"),
    (
        {"url": "https://x.io", "headers": [{"name": "ok", "value": "1"}, {"name": "bad name"}]},
        "http.headers[1].name",
        "not a valid header name",
    ),
    (
        {"url": "https://x.io", "headers": [{"name": "X-A", "value": "a\r\nX-Injected: 1"}]},
        "http.headers[0].value",
        "line break",
    ),
    ({"url": "https://x.io", "headers": {"X-A": "a\nb"}}, "http.headers.X-A", "line break"),
    ({"url": "https://x.io", "headers": {"Bad:Name": "v"}}, "http.headers.Bad:Name", "name"),
    ({"url": "https://x.io", "headers": {"Host": "evil"}}, "http.headers.Host", "set by dts"),
    (
        {"url": "https://x.io", "headers": {"Idempotency-Key": "k"}},
        "http.headers.Idempotency-Key",
        "set by dts",
    ),
    ({"url": "https://x.io", "headers": {"X-DTS-Run-Id": "1"}}, "http.headers.X-DTS-Run-Id", ""),
    ({"url": "https://x.io", "headers": "X-A: 1"}, "http.headers", "expected"),
    (
        {"url": "https://x.io", "headers": {f"X-{i}": "v" for i in range(51)}},
        "http.headers",
        "at most 50",
    ),
    ({"url": "https://x.io", "body": "x" * (256 * 1024 + 1)}, "http.body", "256 KiB"),
    ({"url": "https://x.io", "body": 42}, "http.body", "string"),
    ({"url": "https://x.io", "successStatuses": [200, 600]}, "http.successStatuses[1]", "100-599"),
    ({"url": "https://x.io", "successStatuses": [True]}, "http.successStatuses[0]", ""),
    ({"url": "https://x.io", "followRedirects": "yes"}, "http.followRedirects", "true or false"),
    ({"url": "https://x.io", "timeout": 5}, "http.timeout", "unknown field"),
]


@pytest.mark.parametrize(("data", "field", "words"), BAD_HTTP)
def test_bad_http_specs_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_job_spec("http", data)
    assert caught.value.field == field
    assert words in caught.value.message


BAD_SCRIPT: list[tuple[dict[str, Any], str, str]] = [
    ({"args": ["x"]}, "script.command", "required"),
    ({"command": "  "}, "script.command", "required"),
    ({"command": "no\x00de"}, "script.command", "NUL"),
    ({"command": "node", "args": "scripts/hello.js"}, "script.args", "list"),
    ({"command": "node", "args": ["ok", {"a": 1}]}, "script.args[1]", "string"),
    ({"command": "node", "env": {"1BAD": "x"}}, "script.env.1BAD", "valid variable name"),
    ({"command": "node", "env": {"LD_PRELOAD": "/x.so"}}, "script.env.LD_PRELOAD", "may not"),
    (
        {"command": "node", "env": {"DYLD_INSERT_LIBRARIES": "x"}},
        "script.env.DYLD_INSERT_LIBRARIES",
        "",
    ),
    ({"command": "node", "env": {"BASH_ENV": "/x"}}, "script.env.BASH_ENV", "may not"),
    ({"command": "node", "env": {"DTS_RUN_ID": "7"}}, "script.env.DTS_RUN_ID", "set by dts"),
    ({"command": "node", "env": ["A=1"]}, "script.env", "object"),
    ({"command": "node", "cwd": 5}, "script.cwd", "directory"),
    ({"command": "node", "shell": True}, "script.shell", "unknown field"),
]


@pytest.mark.parametrize(("data", "field", "words"), BAD_SCRIPT)
def test_bad_script_specs_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_job_spec("script", data)
    assert caught.value.field == field
    assert words in caught.value.message


def test_allowed_script_env() -> None:
    spec = parse_job_spec(
        "script", {"command": "python3", "env": {"PYTHONPATH": "lib", "NODE_ENV": "production"}}
    )
    assert isinstance(spec, ScriptSpec)
    assert spec.env == (("PYTHONPATH", "lib"), ("NODE_ENV", "production"))


def test_unknown_job_type() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_job_spec("ftp", {})
    assert caught.value.field == "type"


@pytest.mark.parametrize(
    ("job_type", "data"),
    [
        ("script", {"command": "node", "args": ["a", "b"], "cwd": "jobs", "env": {"A": "1"}}),
        (
            "http",
            {
                "method": "POST",
                "url": "https://example.com/x",
                "headers": [{"name": "Authorization", "value": "Bearer x", "secret": True}],
                "body": {"a": [1, 2.5, None, True]},
                "successStatuses": [409],
                "followRedirects": True,
            },
        ),
        ("http", {"url": "https://example.com/x", "body": "raw text"}),
    ],
)
def test_specs_round_trip_through_storage(job_type: str, data: dict[str, Any]) -> None:
    spec = parse_job_spec(job_type, data)
    stored = spec_to_dict(spec)
    assert spec_from_dict(job_type, stored) == spec
    assert spec_to_dict(spec_from_dict(job_type, stored)) == stored


def test_masked_hides_secret_values_only() -> None:
    spec = parse_job_spec(
        "http",
        {
            "url": "https://example.com",
            "headers": [
                {"name": "X-Token", "value": "t0p", "secret": True},
                {"name": "X-Plain", "value": "visible"},
            ],
        },
    )
    shown = spec_to_dict(spec.masked())
    assert shown["headers"] == [
        {"name": "X-Token", "value": MASK, "secret": True},
        {"name": "X-Plain", "value": "visible", "secret": False},
    ]
    encrypted = spec.map_secrets(lambda v: "enc:" + v)
    assert [h.value for h in encrypted.headers] == ["enc:t0p", "visible"]


# -- network targets --------------------------------------------------------------------

ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("169.254.169.254", "link-local"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", ""),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd00::2", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::7f00:1", "loopback"),
    ("2002:7f00:1::1", "loopback"),
    ("8.8.8.8", None),
    ("1.1.1.1", None),
    ("2606:4700:4700::1111", None),
    ("::ffff:8.8.8.8", None),
]


@pytest.mark.parametrize(("address", "reason"), ADDRESSES)
def test_forbidden_addresses(address: str, reason: str | None) -> None:
    found = forbidden_address_reason(ipaddress.ip_address(address))
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://api.localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://10.0.0.5/",
    ],
)
def test_precheck_refuses_private_literals(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_http_target(url, allow_private=False)
    assert caught.value.field == "http.url"
    assert caught.value.message.startswith("refused: ")
    assert "DTS_HTTP_ALLOW_PRIVATE=true" in caught.value.message
    check_http_target(url, allow_private=True)


@pytest.mark.parametrize("url", ["https://example.com/", "http://8.8.8.8/", "https://deadbeef.io"])
def test_precheck_leaves_public_and_dns_names(url: str) -> None:
    check_http_target(url, allow_private=False)


# -- working directories ----------------------------------------------------------------


@pytest.fixture
def script_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "jobs" / "nested").mkdir(parents=True)
    (root / "file.txt").write_text("x")
    (root / "escape").symlink_to(tmp_path)
    (root / "inside-link").symlink_to(root / "jobs")
    return root


@pytest.mark.parametrize(
    ("cwd", "expected"),
    [
        ("./", "."),
        (".", "."),
        ("jobs", "jobs"),
        ("jobs/nested/..", "jobs"),
        ("inside-link", "jobs"),
    ],
)
def test_resolve_cwd_inside_root(script_root: Path, cwd: str, expected: str) -> None:
    assert resolve_cwd(cwd, script_root) == (script_root / expected).resolve()


def test_resolve_cwd_absolute_inside_root(script_root: Path) -> None:
    assert resolve_cwd(str(script_root / "jobs"), script_root) == (script_root / "jobs").resolve()


@pytest.mark.parametrize(
    ("cwd", "words"),
    [
        ("../..", "outside the script root"),
        ("../does-not-exist", "outside the script root"),
        ("escape", "outside the script root"),
        ("escape/root/..", "outside the script root"),
        ("/etc", "outside the script root"),
        ("missing", "does not exist"),
        ("file.txt", "not a directory"),
    ],
)
def test_resolve_cwd_refusals(script_root: Path, cwd: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        resolve_cwd(cwd, script_root)
    assert caught.value.field == "script.cwd"
    assert words in caught.value.message


def test_resolve_cwd_of_repo_scripts() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert resolve_cwd("./", repo) == repo
    assert os.path.isfile(resolve_cwd("scripts", repo) / "hello.js")
