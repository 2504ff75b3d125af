"""`make test` must leave the machine's services alone: the failure drills (which kill
processes, restart a PostgreSQL cluster and create network namespaces) run only when
asked for with DTS_DRILLS=1 (`make drills`, `.ci/run`)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.live import REPO


def pytest_in_subprocess(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "DTS_DRILLS"}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_drills_are_skipped_unless_asked_for() -> None:
    result = pytest_in_subprocess("tests/drills", "-rs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 skipped" in result.stdout and "passed" not in result.stdout, result.stdout
    assert "opt-in (`make drills` or DTS_DRILLS=1)" in result.stdout


def test_make_drills_and_ci_turn_them_on() -> None:
    assert "DTS_DRILLS=1 $(BIN)/pytest tests/drills" in (REPO / "Makefile").read_text()
    assert "export DTS_DRILLS=1" in (REPO / ".ci" / "run").read_text()
