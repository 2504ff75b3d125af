"""Child processes of a benchmark (target server, workers, references): always stopped.

Every child gets its own process group (Ctrl-C in the terminal reaches only the bench,
which then stops its children in order) and asks the kernel for SIGTERM if the bench dies
(PR_SET_PDEATHSIG), so nothing outlives a benchmark, even one killed with SIGKILL.
Output goes to a temporary file, shown when a child fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
MAIN_PYTHON = sys.executable
_PR_SET_PDEATHSIG = 1
_LOG_DIR = Path(tempfile.mkdtemp(prefix="dts-bench-logs-"))


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded before forks
except OSError:
    _LIBC = None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: one plain system call, nothing else."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        stdin: bool = False,
        capture: bool = False,
    ) -> None:
        self.name = name
        self.log_path = _LOG_DIR / f"{name}-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env if env is not None else os.environ.copy(),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else self._log,
            stderr=self._log,
            text=True,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        CHILDREN.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self, tail: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-tail:]

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()
        self._log.close()
        if self in CHILDREN:
            CHILDREN.remove(self)

    async def astop(self, timeout: float = 15) -> None:
        await asyncio.to_thread(self.stop, timeout)


CHILDREN: list[Child] = []


def stop_all() -> None:
    """Stop every child still running (the bench's last line of defence)."""
    for child in list(CHILDREN):
        child.stop(timeout=10)


class Target:
    """The HTTP target: one uvicorn process serving bench.target on a loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.child = Child(
            "target",
            [
                MAIN_PYTHON,
                "-m",
                "uvicorn",
                "bench.target:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--log-level",
                "warning",
                "--no-access-log",
                "--backlog",
                "2048",
            ],
        )

    def slow_url(self, seconds: float) -> str:
        return f"{self.url}slow?seconds={seconds:g}"

    async def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(trust_env=False) as client:
            while time.monotonic() < deadline:
                if not self.child.alive():
                    raise RuntimeError(f"target server exited:\n{self.child.output()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(self.url, timeout=1)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError("target server did not answer within 30 s")

    async def stop(self) -> None:
        await self.child.astop()


async def start_target() -> Target:
    target = Target()
    await target.wait_ready()
    return target


def dts_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DTS_")}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DTS_DATABASE_URL": database_url,
            "DTS_HTTP_ALLOW_PRIVATE": "true",
            "DTS_WORKER_CONCURRENCY": "16",
            "DTS_LOG_LEVEL": "warning",
            "DTS_SCRIPT_ROOT": str(REPO),
        }
    )
    env.update(extra)
    return env


def start_workers(database_url: str, count: int, **extra: str) -> list[Child]:
    """`dts worker` subprocesses (schema already migrated by the bench)."""
    return [
        Child(
            f"worker{i}",
            [MAIN_PYTHON, "-m", "app", "worker", "--no-migrate"],
            env=dts_env(database_url, **extra),
        )
        for i in range(count)
    ]


async def stop_children(children: list[Child]) -> None:
    await asyncio.gather(*(child.astop() for child in children))


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


class CpuMeter:
    """CPU used by a set of processes between `start()` and `stop()` (noise-proof: a
    loaded machine stretches wall time, not the CPU a run costs)."""

    def __init__(self) -> None:
        self._start: dict[int, float] = {}
        self.used: dict[int, float] = {}

    def start(self, pids: list[int]) -> None:
        self._start = {pid: cpu_seconds(pid) for pid in pids}

    def stop(self, pids: list[int]) -> float:
        self.used = {pid: cpu_seconds(pid) - self._start.get(pid, 0.0) for pid in pids}
        return sum(self.used.values())


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (MB = 2^20 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
