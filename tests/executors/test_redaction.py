"""Secret header values never reach a run's log or output: short ones too, and not even
a prefix when a cap cuts the body or the summary in the middle of one (issue 12, item 7)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.job_spec import MASK, parse_http_spec
from tests.executors.conftest import MakeExecutor
from tests.executors.support import LogRecorder, TargetServer, make_context
from worker.executors.base import OUTPUT_SUMMARY_CHARS
from worker.redaction import NO_SECRETS, Redactor

M = MASK


@pytest.mark.parametrize(
    ("secrets", "text", "shown"),
    [
        # long values: masked wherever they appear
        (["sup3r-secret"], "a sup3r-secret b", f"a {M} b"),
        (["sup3r-secret"], "xsup3r-secretx", f"x{M}x"),
        # short values (< 8): masked as a token of their own, not inside a longer word
        (["abc"], '{"x-sig": "abc"}', f'{{"x-sig": "{M}"}}'),
        (["abc"], "key=abc&next=1", f"key={M}&next=1"),
        (["abc"], "abc_def abc", f"{M}_def {M}"),
        (["abc"], "alphabet abcd", "alphabet abcd"),
        (["42"], "42 is not 1420", f"{M} is not 1420"),
        (["x"], "x", M),
        # "Scheme credential": the whole value, and the credential alone, at any length
        (["Bearer xyz12"], "Authorization: Bearer xyz12", f"Authorization: {M}"),
        (["Bearer xyz12"], "token xyz12 echoed", f"token {M} echoed"),
        (["Basic dXNlcjpw"], "got dXNlcjpw", f"got {M}"),
        # regex characters in a secret are literal
        (["a.b*c"], "a.b*c axbbc", f"{M} axbbc"),
        ([], "nothing secret", "nothing secret"),
        (["", "  "], "blank values are not secrets", "blank values are not secrets"),
    ],
)
def test_redactor_table(secrets: list[str], text: str, shown: str) -> None:
    assert Redactor(secrets)(text) == shown


def test_safe_end_moves_a_cut_back_to_the_start_of_a_secret_it_would_split() -> None:
    redact = Redactor(["sup3r-secret"])
    text = "0123456789sup3r-secret tail"
    assert redact.safe_end(text, 10) == 10  # just before it
    assert redact.safe_end(text, 15) == 10  # inside it
    assert redact.safe_end(text, 22) == 22  # just after it
    assert NO_SECRETS.safe_end(text, 15) == 15 and not NO_SECRETS


def spec(url: str, **fields: Any):
    return parse_http_spec({"method": "GET", "url": url, **fields})


SECRET = "sup3r-secret-value"


def assert_no_part_of_the_secret(text: str) -> None:
    # Any 5 consecutive characters of the secret would be a leak of a part of it.
    for start in range(len(SECRET) - 4):
        assert SECRET[start : start + 5] not in text, (SECRET[start : start + 5], text[-80:])


async def test_short_secret_values_are_masked_when_echoed(
    make_executor: MakeExecutor, http_server: TargetServer
):
    log = LogRecorder()
    job = spec(
        http_server.url("/echo"),
        headers=[
            {"name": "X-Sig", "value": "abc", "secret": True},
            {"name": "Authorization", "value": "Bearer xyz12"},  # always secret
        ],
    )
    result = await make_executor(allow_private=True).execute(job, make_context(log))
    assert result.outcome == "succeeded"
    assert http_server.requests[-1].headers["x-sig"] == "abc"  # sent as is
    shown = log.joined() + "\n" + (result.output or "")
    assert '"x-sig": "abc"' not in shown and "xyz12" not in shown
    assert f'"x-sig": "{MASK}"' in shown and f'"authorization": "{MASK}"' in shown


async def test_a_secret_cut_by_the_body_log_cap_leaks_no_prefix(
    make_executor: MakeExecutor, http_server: TargetServer
):
    log = LogRecorder()
    job = spec(
        http_server.url("/padded-echo?pad=4090"),
        headers=[{"name": "X-Sig", "value": SECRET, "secret": True}],
    )
    executor = make_executor(allow_private=True, max_body_log=4096)
    result = await executor.execute(job, make_context(log))
    assert result.outcome == "succeeded"
    assert_no_part_of_the_secret(log.joined())
    assert_no_part_of_the_secret(result.output or "")
    total = 4090 + len(SECRET) + len(" tail\n")
    # The shown part ends where the secret begins.
    assert log.texts("stdout") == ["." * 4090]
    assert log.texts("system")[-1] == f"body truncated: showing 4090 of {total} bytes"


async def test_a_secret_cut_by_the_summary_cap_leaks_no_prefix(
    make_executor: MakeExecutor, http_server: TargetServer
):
    log = LogRecorder()
    pad = OUTPUT_SUMMARY_CHARS - 5  # the summary's cut falls inside the secret
    job = spec(
        http_server.url(f"/padded-echo?pad={pad}"),
        headers=[{"name": "X-Sig", "value": SECRET, "secret": True}],
    )
    result = await make_executor(allow_private=True).execute(job, make_context(log))
    assert result.outcome == "succeeded"
    assert result.output is not None and result.output.startswith("." * pad + MASK[:4])
    assert_no_part_of_the_secret(result.output)
    assert log.texts("stdout") == ["." * pad + MASK + " tail"]
