"""The reference virtualenv, bench/.venv-ref: Procrastinate and aiohttp, kept apart.

They are not dts dependencies, and Procrastinate brings psycopg 3; a separate virtualenv
keeps the main one exactly what pyproject.toml says. Made on first use (about a minute).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent.parent / ".venv-ref"
PYTHON = VENV / "bin" / "python"
PACKAGES = [
    "procrastinate>=3,<4",
    "psycopg[binary,pool]>=3.2,<4",
    "httpx>=0.28,<0.29",
    "aiohttp>=3.9,<4",
]


SNIFFIO_ONLY = VENV / "sniffio-only"


def main_has_sniffio() -> bool:
    """httpcore 1.0 imports sniffio on every request and falls back when it is missing:
    each failed import searches sys.path again, which halves httpx's request rate."""
    return importlib.util.find_spec("sniffio") is not None


def _probe(code: str) -> bool:
    probe = subprocess.run([str(PYTHON), "-c", code], capture_output=True, check=False)
    return probe.returncode == 0


def _ready() -> bool:
    if not PYTHON.exists() or not _probe("import procrastinate, psycopg, aiohttp, httpx"):
        return False
    # Same httpx situation as the main virtualenv, so httpx costs the same on both sides.
    return _probe("import sniffio") == main_has_sniffio()


def reference_python() -> Path:
    """The reference virtualenv's python, creating or completing the virtualenv if needed."""
    if _ready():
        return PYTHON
    print(f"bench: preparing {VENV} (Procrastinate, aiohttp) …", flush=True)
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PYTHON), "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", *PACKAGES], check=True)
    if main_has_sniffio():
        subprocess.run([*pip, "install", "sniffio"], check=True)
    else:
        subprocess.run([*pip, "uninstall", "-y", "sniffio"], check=False)
    return PYTHON


def sniffio_path() -> Path:
    """A directory holding only sniffio, to add to PYTHONPATH for a with-sniffio figure."""
    if not (SNIFFIO_ONLY / "sniffio").exists():
        subprocess.run(
            [
                str(reference_python()),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--target",
                str(SNIFFIO_ONLY),
                "sniffio",
            ],
            check=True,
        )
    return SNIFFIO_ONLY


def versions() -> str:
    out = subprocess.run(
        [
            str(reference_python()),
            "-c",
            "from importlib.metadata import version as v; "
            "print(f\"procrastinate {v('procrastinate')}, psycopg {v('psycopg')}, "
            "aiohttp {v('aiohttp')}, httpx {v('httpx')}\")",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()
