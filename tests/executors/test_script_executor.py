"""The script executor with real subprocesses: streaming, limits, killing, environment."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.domain.job_spec import ScriptSpec, parse_script_spec
from tests.executors.support import LogRecorder, make_context
from worker.executors.script import ScriptExecutor

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie waiting for its reaper counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path


def write(root: Path, name: str, source: str) -> str:
    (root / name).write_text(textwrap.dedent(source))
    return name


def pids_in(log: LogRecorder) -> list[int]:
    return [int(t.split("=", 1)[1]) for t in log.texts("stdout") if t.startswith("pid=")]


async def test_hello_js_from_the_brief() -> None:
    log = LogRecorder()
    spec = parse_script_spec({"command": "node", "args": ["scripts/hello.js"], "cwd": "./"})
    result = await ScriptExecutor(REPO).execute(spec, make_context(log))
    assert result.outcome == "succeeded", log.joined()
    assert result.exit_code == 0
    (line,) = log.texts("stdout")
    assert line.startswith("Hello from DTS worker at 20")
    assert result.output == line
    assert log.texts("system")[-1].startswith("exited with code 0 in ")


async def test_hello_py() -> None:
    log = LogRecorder()
    spec = ScriptSpec(command=PY, args=("scripts/hello.py",), cwd="scripts/..")
    result = await ScriptExecutor(REPO).execute(spec, make_context(log))
    assert result.outcome == "succeeded", log.joined()
    assert log.texts("stdout")[0].startswith("Hello from DTS worker at ")


async def test_lines_arrive_while_the_script_runs(root: Path) -> None:
    write(
        root,
        "ticker.py",
        """
        import sys, time
        for i in range(4):
            print(f"tick {i}", flush=True)
            print(f"warn {i}", file=sys.stderr, flush=True)
            time.sleep(0.3)
        """,
    )
    log = LogRecorder()
    result = await ScriptExecutor(root).execute(
        ScriptSpec(command=PY, args=("ticker.py",)), make_context(log)
    )
    finished = time.monotonic()
    assert result.outcome == "succeeded"
    assert log.texts("stdout") == ["tick 0", "tick 1", "tick 2", "tick 3"]
    assert log.texts("stderr") == ["warn 0", "warn 1", "warn 2", "warn 3"]
    ticks = [line.at for line in log.lines if line.stream == "stdout"]
    assert finished - ticks[0] > 0.8  # the first line was logged long before the end
    assert all(b - a > 0.15 for a, b in itertools.pairwise(ticks))
    assert result.output is not None and result.output.endswith("tick 3\nwarn 3")


async def test_non_zero_exit_is_a_retryable_failure(root: Path) -> None:
    log = LogRecorder()
    spec = ScriptSpec(command=PY, args=("-c", "import sys; print('bye'); sys.exit(3)"))
    result = await ScriptExecutor(root).execute(spec, make_context(log))
    assert (result.outcome, result.exit_code, result.retryable) == ("failed", 3, True)
    assert result.error == "exited with code 3"
    assert result.output == "bye"


async def test_command_not_found(root: Path) -> None:
    log = LogRecorder()
    result = await ScriptExecutor(root).execute(ScriptSpec(command="nodee"), make_context(log))
    assert result.outcome == "failed"
    assert not result.retryable
    assert result.error == "command 'nodee' not found on PATH"
    assert log.texts("system") == ["not started: command 'nodee' not found on PATH"]


async def test_timeout_kills_the_whole_group(root: Path) -> None:
    write(
        root,
        "stubborn.py",
        """
        import signal, subprocess, time, os
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # force the SIGKILL step
        child = subprocess.Popen(["sleep", "60"])
        print(f"pid={os.getpid()}", flush=True)
        print(f"pid={child.pid}", flush=True)
        time.sleep(60)
        """,
    )
    log = LogRecorder()
    executor = ScriptExecutor(root, kill_grace=0.5)
    started = time.monotonic()
    result = await executor.execute(
        ScriptSpec(command=PY, args=("stubborn.py",)), make_context(log, timeout=1.0)
    )
    assert result.outcome == "timed_out", log.joined()
    assert result.retryable
    assert time.monotonic() - started < 3.0
    pids = pids_in(log)
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)
    system = log.texts("system")
    assert any(t.startswith("timed out after 1 s; stopping process group") for t in system)
    assert any("sending SIGKILL" in t for t in system)


async def test_cancel_stops_sleep_within_two_seconds(root: Path) -> None:
    write(
        root,
        "sleeper.sh",
        """
        sleep 60 &
        echo "pid=$!"
        echo "pid=$$"
        sleep 60
        """,
    )
    log = LogRecorder()
    ctx = make_context(log, timeout=60)
    asyncio.get_running_loop().call_later(0.3, ctx.cancelled.set)
    started = time.monotonic()
    result = await ScriptExecutor(root).execute(ScriptSpec(command="sh", args=("sleeper.sh",)), ctx)
    assert result.outcome == "cancelled", log.joined()
    assert not result.retryable
    assert time.monotonic() - started < 2.0
    pids = pids_in(log)
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)


async def test_leftover_background_process_does_not_hold_the_run(root: Path) -> None:
    write(root, "forker.sh", 'sleep 60 &\necho "pid=$!"\necho done\n')
    log = LogRecorder()
    started = time.monotonic()
    result = await ScriptExecutor(root).execute(
        ScriptSpec(command="sh", args=("forker.sh",)), make_context(log, timeout=30)
    )
    assert result.outcome == "succeeded", log.joined()
    assert time.monotonic() - started < 3.0
    (pid,) = pids_in(log)
    assert not alive(pid)
    assert "process exited; stopping what it left running" in log.texts("system")


async def test_escaped_process_holding_the_pipes_does_not_hold_the_run(root: Path) -> None:
    # A daemon that left the group (new session) keeps stdout open; dts stops waiting.
    code = (
        "import subprocess; "
        "p = subprocess.Popen(['sleep', '60'], start_new_session=True); "
        "print(f'pid={p.pid}', flush=True)"
    )
    log = LogRecorder()
    started = time.monotonic()
    result = await ScriptExecutor(root).execute(
        ScriptSpec(command=PY, args=("-c", code)), make_context(log, timeout=30)
    )
    (pid,) = pids_in(log)
    os.kill(pid, signal.SIGKILL)  # out of dts's reach by design; clean up after the test
    assert result.outcome == "succeeded", log.joined()
    assert time.monotonic() - started < 3.0


async def test_output_cap_truncates_but_keeps_draining(root: Path) -> None:
    # 2 MB through a 64 KiB pipe: the script only finishes if dts keeps reading.
    spec = ScriptSpec(
        command=PY, args=("-c", "for i in range(40000): print(f'{i:08d}' + 'x' * 41)")
    )
    log = LogRecorder()
    result = await ScriptExecutor(root, max_output_bytes=1000).execute(spec, make_context(log))
    assert result.outcome == "succeeded"
    assert len(log.texts("stdout")) == 20  # 20 lines of 50 bytes
    assert "output truncated after 1000 bytes" in log.texts("system")
    assert log.texts("system").count("output truncated after 1000 bytes") == 1


async def test_long_line_without_newline_is_chunked(root: Path) -> None:
    code = "import sys; sys.stdout.write('é' * 10000)"  # 20,000 bytes, 2-byte characters
    log = LogRecorder()
    result = await ScriptExecutor(root).execute(
        ScriptSpec(command=PY, args=("-c", code)), make_context(log)
    )
    assert result.outcome == "succeeded"
    pieces = log.texts("stdout")
    assert len(pieces) == 3  # 8 KiB, 8 KiB, the rest
    assert "".join(pieces) == "é" * 10000  # no character split at a chunk boundary


async def test_invalid_utf8_is_replaced(root: Path) -> None:
    code = "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')"
    log = LogRecorder()
    await ScriptExecutor(root).execute(ScriptSpec(command=PY, args=("-c", code)), make_context(log))
    assert log.texts("stdout") == ["ok \ufffd\ufffd end"]


async def test_server_secrets_never_reach_the_script(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DTS_JWT_SECRET", "DTS_DATABASE_URL", "DATABASE_URL", "JWT_SECRET", "AWS_KEY"):
        monkeypatch.setenv(name, "leak-" + name)
    monkeypatch.setenv("TZ", "Europe/Paris")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    spec = parse_script_spec({"command": PY, "args": ["-c", code], "env": {"GREETING": "hi"}})
    log = LogRecorder()
    result = await ScriptExecutor(root).execute(spec, make_context(log, run_id=9, attempt=1))
    assert result.outcome == "succeeded"
    env = json.loads(log.texts("stdout")[0])
    assert not any(value.startswith("leak-") for value in env.values())
    assert env["GREETING"] == "hi"
    assert env["TZ"] == "Europe/Paris"
    assert env["DTS_RUN_ID"] == "9" and env["DTS_ATTEMPT"] == "1"
    assert env["DTS_IDEMPOTENCY_KEY"] == "run-9"
    assert "PATH" in env


def test_allowlist_refuses_server_secrets(root: Path) -> None:
    with pytest.raises(ValueError, match="DTS_JWT_SECRET"):
        ScriptExecutor(root, base_env_allowlist=("PATH", "DTS_JWT_SECRET"))


@pytest.mark.parametrize("cwd", ["../..", "escape"])
async def test_cwd_outside_the_root_is_refused_at_run_time(tmp_path: Path, cwd: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path)
    log = LogRecorder()
    result = await ScriptExecutor(root).execute(
        ScriptSpec(command="pwd", cwd=cwd), make_context(log)
    )
    assert result.outcome == "failed" and not result.retryable
    assert result.error is not None and "outside the script root" in result.error
    assert log.texts("stdout") == []


async def test_runs_in_the_resolved_cwd(root: Path) -> None:
    (root / "jobs").mkdir()
    log = LogRecorder()
    result = await ScriptExecutor(root).execute(
        ScriptSpec(command="pwd", cwd="./jobs"), make_context(log)
    )
    assert result.outcome == "succeeded"
    assert log.texts("stdout") == [str((root / "jobs").resolve())]


async def test_stdin_is_closed(root: Path) -> None:
    log = LogRecorder()
    code = "import sys; print(repr(sys.stdin.read()))"
    result = await ScriptExecutor(root).execute(
        ScriptSpec(command=PY, args=("-c", code)), make_context(log, timeout=5)
    )
    assert result.outcome == "succeeded"
    assert log.texts("stdout") == ["''"]
