"""`make run` as a user types it: the real Makefile, in a sandbox with stand-ins for the
slow parts (pip, npm, `dts up` itself) that record how they were called.

What a user notices: the port they set is the port dts gets; a second start installs and
builds nothing; `run` never installs the dev tools; the dashboard is rebuilt only when one
of its sources changed; an old Node is refused with a plain sentence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

RECORD = '#!/bin/sh\necho "{name} $*" >> "{log}"\n'
FAKE_DTS = '#!/bin/sh\necho "dts $* DTS_PORT=${{DTS_PORT-unset}} PORT=${{PORT-unset}}" >> "{log}"\n'
WEB_FILES = ["src/main.tsx", "index.html", "vite.config.ts", "package.json", "package-lock.json"]


@dataclass
class Checkout:
    root: Path
    log: Path
    base: float

    def age(self, relative: str, seconds: float) -> None:
        """Give a file the modification time `base + seconds`."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, (self.base + seconds, self.base + seconds))

    def make(self, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
        self.log.write_text("")
        clean = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DTS_PORT", "PORT", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
        }
        clean["PATH"] = f"{self.root / 'fakebin'}{os.pathsep}{clean.get('PATH', '')}"
        clean.update(env)
        result = subprocess.run(
            ["make", "--no-print-directory", *args],
            cwd=self.root,
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result, self.log.read_text().splitlines()


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    """A checkout after a first `make run`: venv, node_modules and the build all current."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    log = tmp_path / "calls.log"
    here = Checkout(tmp_path, log, time.time() - 1000)
    bin_dir, fake_bin = tmp_path / ".venv" / "bin", tmp_path / "fakebin"
    bin_dir.mkdir(parents=True)
    fake_bin.mkdir()
    for path, text in [
        (bin_dir / "python", RECORD.format(name="python", log=log)),
        (bin_dir / "pip", RECORD.format(name="pip", log=log)),
        (bin_dir / "dts", FAKE_DTS.format(log=log)),
        (fake_bin / "npm", RECORD.format(name="npm", log=log)),
    ]:
        path.write_text(text)
        path.chmod(0o755)
    for source in ["pyproject.toml", "schema.graphql", *(f"web/{f}" for f in WEB_FILES)]:
        here.age(source, 0)
    for product in [".venv/.installed-run", "web/node_modules/.installed", "web/dist/index.html"]:
        here.age(product, 10)
    return here


@pytest.mark.parametrize(
    ("args", "env", "dts_sees"),
    [
        ((), {"DTS_PORT": "4101"}, "DTS_PORT=4101 PORT=unset"),
        ((), {"PORT": "4102"}, "DTS_PORT=unset PORT=4102"),
        (("PORT=4103",), {}, "DTS_PORT=unset PORT=4103"),
        ((), {"DTS_PORT": "4104", "PORT": "4105"}, "DTS_PORT=4104 PORT=4105"),  # DTS_ wins
        ((), {}, "DTS_PORT=unset PORT=unset"),  # dts's own default, 4000
    ],
)
def test_make_run_passes_the_port_as_dts_reads_it(
    checkout: Checkout, args: tuple[str, ...], env: dict[str, str], dts_sees: str
) -> None:
    result, calls = checkout.make("run", *args, **env)
    assert result.returncode == 0, result.stderr
    assert calls == [f"dts up {dts_sees}"]


def test_a_second_make_run_installs_and_builds_nothing(checkout: Checkout) -> None:
    result, calls = checkout.make("run")
    assert result.returncode == 0, result.stderr
    assert calls == ["dts up DTS_PORT=unset PORT=unset"]


def test_make_run_installs_runtime_dependencies_only(checkout: Checkout) -> None:
    (checkout.root / ".venv" / ".installed-run").unlink()
    result, calls = checkout.make("run")
    assert result.returncode == 0, result.stderr
    assert calls[0] == "pip install -q -e ."  # not '.[dev]'
    assert (checkout.root / ".venv" / ".installed-run").exists()
    _, calls = checkout.make("run")
    assert not [c for c in calls if c.startswith("pip")], "installed again"


def test_make_run_reuses_a_current_dev_install(checkout: Checkout) -> None:
    (checkout.root / ".venv" / ".installed-run").unlink()
    checkout.age(".venv/.installed-dev", 10)  # `make test` installed '.[dev]' already
    result, calls = checkout.make("run")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls if c.startswith("pip")]


def test_make_run_reinstalls_when_pyproject_changes(checkout: Checkout) -> None:
    checkout.age("pyproject.toml", 20)
    result, calls = checkout.make("run")
    assert result.returncode == 0, result.stderr
    assert "pip install -q -e ." in calls


@pytest.mark.parametrize(
    "source",
    ["web/src/main.tsx", "web/index.html", "web/vite.config.ts", "schema.graphql"],
)
def test_the_dashboard_is_rebuilt_only_when_a_source_changed(
    checkout: Checkout, source: str
) -> None:
    checkout.age(source, 20)
    result, calls = checkout.make("run")
    assert result.returncode == 0, result.stderr
    assert "npm run build" in calls and "npm ci --no-audit --no-fund" not in calls
    _, calls = checkout.make("run")
    assert "npm run build" not in calls, "built again although nothing changed"


def test_a_changed_lock_reinstalls_node_modules_then_builds(checkout: Checkout) -> None:
    checkout.age("web/package-lock.json", 20)
    result, calls = checkout.make("run")
    assert result.returncode == 0, result.stderr
    assert calls[:2] == ["npm ci --no-audit --no-fund", "npm run build"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_an_old_node_is_refused_with_a_plain_sentence(checkout: Checkout) -> None:
    checkout.age("web/src/main.tsx", 20)
    result, calls = checkout.make("run", "NODE_MIN=99.0")
    assert result.returncode != 0
    assert "the dashboard needs Node.js 99.0 or newer; this is Node " in result.stderr
    assert not [c for c in calls if c.startswith(("npm", "dts"))]
