"""The script executor: run argv (no shell) in its own process group, stream its output.

The child gets a clean environment: a short allowlist copied from the worker (PATH, HOME,
locale, TZ, TMPDIR, user names), then the job's own env, then `DTS_RUN_ID`,
`DTS_ATTEMPT`, `DTS_IDEMPOTENCY_KEY` (and `DTS_JOB_ID`/`DTS_JOB_NAME` when known).
Nothing else from the worker's environment reaches it: the worker holds the database URL,
the JWT secret and the encryption key.

Every script starts a new session, so it and everything it spawns share one process group
that dts owns. On timeout or cancel the whole group gets SIGTERM, then SIGKILL after
`kill_grace`. When the main process exits, whatever it left running in the group is
stopped the same way: a run is over when its process is, and nothing outlives it to hold
the pipes open (a process that calls setsid itself leaves the group and is out of reach;
its pipes are abandoned after a short wait).

Orphaned grandchildren are reaped by PID 1; in containers run the worker under an init
that reaps (`docker run --init`, tini) or they linger as zombies.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import shutil
import signal
import time
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.domain.errors import ValidationError
from app.domain.job_spec import ScriptSpec, resolve_cwd
from worker.executors.base import ExecutionContext, ExecutionResult, summarise

__all__ = ["DEFAULT_ENV_ALLOWLIST", "ScriptExecutor"]

DEFAULT_ENV_ALLOWLIST = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
)
# Never copied from the worker, even if an operator adds them to the allowlist.
_NEVER_INHERITED_PREFIXES = ("DTS_",)
_NEVER_INHERITED = frozenset({"DATABASE_URL", "JWT_SECRET", "APP_URL", "SMTP_URL"})

LINE_CHUNK_BYTES = 8192  # a line longer than this is logged in pieces
READ_BYTES = 65536
PIPE_DRAIN_SECONDS = 1.0  # after the process group is gone, how long to wait for EOF
GROUP_POLL_SECONDS = 0.02


class ScriptExecutor:
    def __init__(
        self,
        script_root: Path,
        *,
        max_output_bytes: int = 1_000_000,
        kill_grace: float = 5.0,
        base_env_allowlist: Iterable[str] = DEFAULT_ENV_ALLOWLIST,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """`environ` is the worker environment to pick the allowlist from (os.environ)."""
        allowlist = tuple(base_env_allowlist)
        leaking = [
            n for n in allowlist if n.startswith(_NEVER_INHERITED_PREFIXES) or n in _NEVER_INHERITED
        ]
        if leaking:
            raise ValueError(f"{', '.join(leaking)} must never be passed to scripts")
        self.script_root = script_root
        self.max_output_bytes = max_output_bytes
        self.kill_grace = kill_grace
        self.base_env_allowlist = allowlist
        self._environ = environ

    async def aclose(self) -> None:
        return None

    def child_environment(self, spec: ScriptSpec, ctx: ExecutionContext) -> dict[str, str]:
        source = os.environ if self._environ is None else self._environ
        env = {name: source[name] for name in self.base_env_allowlist if name in source}
        env.setdefault("PATH", os.defpath)
        env.update(spec.env)
        env["DTS_RUN_ID"] = str(ctx.run_id)
        env["DTS_ATTEMPT"] = str(ctx.attempt)
        env["DTS_IDEMPOTENCY_KEY"] = ctx.idempotency_key
        if ctx.job_id is not None:
            env["DTS_JOB_ID"] = str(ctx.job_id)
        if ctx.job_name is not None:
            env["DTS_JOB_NAME"] = ctx.job_name
        return env

    async def execute(self, spec: ScriptSpec, ctx: ExecutionContext) -> ExecutionResult:
        started = time.monotonic()

        def elapsed() -> float:
            return time.monotonic() - started

        if ctx.cancelled.is_set():
            return ExecutionResult("cancelled", 0.0, error="cancelled before start")
        try:
            cwd = resolve_cwd(spec.cwd, self.script_root)
        except ValidationError as error:
            await ctx.log("system", f"not started: {error.message}")
            return ExecutionResult("failed", elapsed(), error=error.message)

        env = self.child_environment(spec, ctx)
        argv = (spec.command, *spec.args)
        try:
            process, exited = await _spawn(argv, cwd, env)
        except OSError as error:
            message = _start_failure(spec.command, error, env["PATH"], cwd)
            await ctx.log("system", f"not started: {message}")
            return ExecutionResult("failed", elapsed(), error=message)

        await ctx.log("system", f"started {_shown(argv)} (pid {process.pid}) in {cwd}")
        output = _OutputLog(ctx, self.max_output_bytes)
        assert process.stdout is not None and process.stderr is not None
        pumps = [
            asyncio.create_task(output.pump(process.stdout, "stdout")),
            asyncio.create_task(output.pump(process.stderr, "stderr")),
        ]
        exit_task = asyncio.create_task(exited.wait())
        cancel = asyncio.create_task(ctx.cancelled.wait())
        stopped_by: str | None = None
        try:
            done, _ = await asyncio.wait(
                {exit_task, cancel},
                timeout=ctx.timeout_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if exit_task not in done:
                stopped_by = "cancel" if cancel in done else "timeout"
                reason = (
                    "cancelled"
                    if stopped_by == "cancel"
                    else f"timed out after {ctx.timeout_seconds:g} s"
                )
                await ctx.log("system", f"{reason}; stopping process group {process.pid}")
            await self._stop_group(process, ctx, leftover=stopped_by is None)
            await exited.wait()
            await _drain(pumps)
        finally:
            cancel.cancel()
            exit_task.cancel()
            if not exited.is_set():  # we are being cancelled ourselves (worker shutdown)
                _signal_group(process.pid, signal.SIGKILL)
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(asyncio.shield(exited.wait()), self.kill_grace)
            for pump in pumps:
                pump.cancel()
            _close_transport(process)
        await output.flush_marker()

        code = process.returncode
        duration = elapsed()
        summary = output.summary()
        result = await self._result(ctx, stopped_by, code, duration, summary)
        result.output_truncated = output.truncated
        return result

    async def _result(
        self,
        ctx: ExecutionContext,
        stopped_by: str | None,
        code: int | None,
        duration: float,
        summary: str | None,
    ) -> ExecutionResult:
        if stopped_by == "cancel":
            return ExecutionResult(
                "cancelled", duration, exit_code=code, error="cancelled", output=summary
            )
        if stopped_by == "timeout":
            return ExecutionResult(
                "timed_out",
                duration,
                exit_code=code,
                error=f"timed out after {ctx.timeout_seconds:g} s",
                output=summary,
                retryable=True,
            )
        await ctx.log("system", f"exited with code {code} in {duration * 1000:.0f} ms")
        if code == 0:
            return ExecutionResult("succeeded", duration, exit_code=0, output=summary)
        return ExecutionResult(
            "failed",
            duration,
            exit_code=code,
            error=_exit_description(code),
            output=summary,
            retryable=True,
        )

    async def _stop_group(
        self, process: asyncio.subprocess.Process, ctx: ExecutionContext, *, leftover: bool
    ) -> None:
        """SIGTERM the group, SIGKILL what is left after `kill_grace`; wait until gone.

        With `leftover` the main process has already exited and only what it left behind
        in the group is stopped (usually nothing, and then nothing is signalled).
        """
        pgid = process.pid
        if not _group_alive(pgid):
            return
        if leftover:
            await ctx.log("system", "process exited; stopping what it left running")
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace
        # Polling: there is no event for "a process group became empty".
        while _group_alive(pgid) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(GROUP_POLL_SECONDS)
        if _group_alive(pgid):
            await ctx.log("system", f"still running after {self.kill_grace:g} s; sending SIGKILL")
            _signal_group(pgid, signal.SIGKILL)
            for _ in range(250):  # SIGKILL cannot be ignored; this ends within milliseconds
                if not _group_alive(pgid):
                    break
                await asyncio.sleep(GROUP_POLL_SECONDS)


class _OutputLog:
    """Turns pipe bytes into log lines, shared by stdout and stderr for the output cap."""

    def __init__(self, ctx: ExecutionContext, max_bytes: int) -> None:
        self.ctx = ctx
        self.max_bytes = max_bytes
        self.logged_bytes = 0
        self.truncated = False
        self._marker_logged = False
        self._tail: deque[str] = deque(maxlen=64)

    async def pump(self, reader: asyncio.StreamReader, stream: str) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        buffer = bytearray()
        while True:
            chunk = await reader.read(READ_BYTES)
            if not chunk:
                break
            buffer += chunk
            while True:
                newline = buffer.find(b"\n")
                if newline == -1 or newline > LINE_CHUNK_BYTES:
                    if len(buffer) < LINE_CHUNK_BYTES:
                        break
                    piece = bytes(buffer[:LINE_CHUNK_BYTES])  # a long line, in pieces
                    del buffer[:LINE_CHUNK_BYTES]
                    await self._emit(stream, piece, decoder.decode(piece))
                    continue
                piece = bytes(buffer[: newline + 1])
                del buffer[: newline + 1]
                await self._emit(stream, piece, decoder.decode(piece))
        if buffer:
            await self._emit(stream, bytes(buffer), decoder.decode(bytes(buffer), final=True))

    async def _emit(self, stream: str, raw: bytes, text: str) -> None:
        if self.truncated:
            return  # keep draining the pipe so the process never blocks on a full one
        if self.logged_bytes + len(raw) > self.max_bytes:
            self.truncated = True
            await self.flush_marker()
            return
        self.logged_bytes += len(raw)
        line = text.rstrip("\n").removesuffix("\r")
        self._tail.append(line)
        await self.ctx.log(stream, line)

    async def flush_marker(self) -> None:
        if self.truncated and not self._marker_logged:
            self._marker_logged = True
            await self.ctx.log("system", f"output truncated after {self.logged_bytes} bytes")

    def summary(self) -> str | None:
        return summarise("\n".join(self._tail), tail=True)


async def _drain(pumps: list[asyncio.Task[None]]) -> None:
    """Wait for both pipes to reach EOF; give up on pipes held by an escaped process."""
    _, pending = await asyncio.wait(pumps, timeout=PIPE_DRAIN_SECONDS)
    for pump in pending:
        pump.cancel()
    await asyncio.gather(*pumps, return_exceptions=True)


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the process itself has exited. `Process.wait()` on Python 3.11 also
    waits for its pipes to close, which a background grandchild can hold open for hours."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def _spawn(
    argv: tuple[str, ...], cwd: Path, env: dict[str, str]
) -> tuple[asyncio.subprocess.Process, asyncio.Event]:
    """`asyncio.create_subprocess_exec`, with our protocol, in a new session."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitAwareProtocol(limit=READ_BYTES, loop=loop),
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    return asyncio.subprocess.Process(transport, protocol, loop), protocol.exited


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _has_live_member(pgid)


def _has_live_member(pgid: int) -> bool:
    """killpg(…, 0) also succeeds for zombies waiting to be reaped; they are gone for us."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no procfs: trust killpg
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _close_transport(process: asyncio.subprocess.Process) -> None:
    # asyncio offers no public close for a finished Process; without it the pipe
    # transports are closed only by the garbage collector (ResourceWarning).
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


def _start_failure(command: str, error: OSError, path: str, cwd: Path) -> str:
    if isinstance(error, FileNotFoundError):
        if os.sep in command:
            return f"command {command!r} not found (relative to {cwd})"
        if shutil.which(command, path=path) is None:
            return f"command {command!r} not found on PATH"
        return f"could not start {command!r}: its interpreter was not found"
    if isinstance(error, PermissionError):
        return f"command {command!r} is not executable ({error.strerror})"
    return f"could not start {command!r}: {error.strerror or error}"


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def _shown(argv: tuple[str, ...]) -> str:
    text = " ".join(argv)
    return text if len(text) <= 200 else text[:199] + "…"
