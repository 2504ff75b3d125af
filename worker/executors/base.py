"""The executor contract: run one attempt of a job, stream its log, report what happened.

An executor never raises for anything the job did (refused target, timeout, non-zero exit,
cancel): every outcome is an `ExecutionResult`. It only raises for bugs in dts itself.
The worker loop owns retries; `retryable` and `retry_after` are the executor's advice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

LogStream = Literal["stdout", "stderr", "system"]
Outcome = Literal["succeeded", "failed", "timed_out", "cancelled"]

# The run log takes one line at a time: (stream, text). It may be called concurrently
# (stdout and stderr) and must not raise: a sink that fails should drop or buffer lines.
LogSink = Callable[[str, str], Awaitable[None]]

# `ExecutionResult.output` holds at most this many characters: a summary for run lists,
# not the log (the log is in run_logs).
OUTPUT_SUMMARY_CHARS = 1000


@dataclass(slots=True)
class ExecutionContext:
    run_id: int
    attempt: int
    idempotency_key: str
    timeout_seconds: float
    log: LogSink
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    job_id: int | None = None
    job_name: str | None = None


@dataclass(slots=True)
class ExecutionResult:
    outcome: Outcome
    duration: float
    http_status: int | None = None
    exit_code: int | None = None
    error: str | None = None
    output: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    output_truncated: bool = False  # the output cap cut the log (the marker line was logged)

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


SpecT_contra = TypeVar("SpecT_contra", contravariant=True)


class Executor(Protocol[SpecT_contra]):
    async def execute(self, spec: SpecT_contra, ctx: ExecutionContext) -> ExecutionResult:
        """Run one attempt; return when it is finished, timed out or cancelled."""
        ...

    async def aclose(self) -> None:
        """Release shared resources (connection pools) at worker shutdown."""
        ...


def summarise(text: str, *, tail: bool = False) -> str | None:
    """`text` cut to OUTPUT_SUMMARY_CHARS, from the start or (for scripts) the end."""
    text = text.strip()
    if not text:
        return None
    if len(text) <= OUTPUT_SUMMARY_CHARS:
        return text
    if tail:
        return "…" + text[-(OUTPUT_SUMMARY_CHARS - 1) :]
    return text[: OUTPUT_SUMMARY_CHARS - 1] + "…"
