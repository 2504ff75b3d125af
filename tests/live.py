"""Start real `dts` processes on loopback for tests, and stop them cleanly."""

from __future__ import annotations

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
DTS = [sys.executable, "-m", "app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dts_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DTS_")}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DTS_DATABASE_URL": database_url,
            "DTS_JWT_SECRET": "test-secret-" + "x" * 32,
            "DTS_LOG_LEVEL": "warning",
            "DTS_SCRIPT_ROOT": str(REPO),
        }
    )
    env.update(extra)
    return env


class DtsProcess:
    """A `dts <command>` subprocess; `stop()` sends SIGTERM and returns its output."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path = REPO) -> None:
        # Output goes to a file, not a pipe: a pipe nobody reads fills up and blocks the
        # server the moment it logs a lot.
        self.output = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [*DTS, *args],
            env=env,
            cwd=cwd,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 20) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.read_output()

    def read_output(self) -> str:
        self.output.flush()
        self.output.seek(0)
        return self.output.read()


class LiveServer(DtsProcess):
    def __init__(self, command: str, env: dict[str, str], cwd: Path = REPO) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([command, "--port", str(self.port)], env, cwd)

    def wait_healthy(self, timeout: float = 60) -> httpx.Response:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dts exited early ({self.proc.returncode}): {self.stop()}")
            try:
                response = httpx.get(self.url + "/api/health", timeout=2)
                if response.status_code == 200:
                    return response
                last = response.text
            except httpx.HTTPError as error:
                last = error
            time.sleep(0.2)
        raise TimeoutError(f"dts not healthy after {timeout}s: {last}; output: {self.stop()}")
