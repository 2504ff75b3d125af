"""A throwaway PostgreSQL cluster for drills that restart the database.

The drills must never touch the machine's own PostgreSQL service (other sessions and
programs use it). A drill that restarts PostgreSQL gets a cluster of its own instead, as
pytest-postgresql does it: `initdb` into a temporary directory, `pg_ctl start` on a free
loopback port with its socket in that directory, `pg_ctl restart` when the drill says so,
`pg_ctl stop` and the directory removed afterwards.

The binaries come from `DTS_DRILL_PG_BIN` if set, else the newest
`/usr/lib/postgresql/*/bin` (Debian's layout), else `pg_config --bindir`. `initdb`
refuses to run as root, so as root the cluster runs as the `postgres` system user (the
directory is handed to it); otherwise as the current user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.live import free_port

SERVICE_USER = "postgres"


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    candidates: list[Path] = []
    if os.environ.get("DTS_DRILL_PG_BIN"):
        candidates.append(Path(os.environ["DTS_DRILL_PG_BIN"]))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.replace(".", "").isdigit()]
        versions.sort(key=lambda p: float(p.name), reverse=True)
        candidates.extend(p / "bin" for p in versions)
    if shutil.which("pg_config"):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found:
            candidates.append(Path(found))
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    return None


def why_unavailable() -> str | None:
    """None if a throwaway cluster can be made here, else why not."""
    if find_bin_dir() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) found; set DTS_DRILL_PG_BIN"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root and there is no {SERVICE_USER!r} user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is not installed"
    return None


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only."""

    def __init__(self) -> None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(why_unavailable() or "no PostgreSQL binaries")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="dts-drill-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVICE_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", SERVICE_USER, "--"]

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        command = [*self._as_user, str(self.bin / tool), *args]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(
                f"{tool} failed ({result.returncode}): {result.stdout}{result.stderr}\n{log}"
            )
        return result.stdout + result.stderr

    def start(self) -> None:
        """initdb, then start on a free port (a few tries: another process may take it)."""
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        last: Exception | None = None
        for _ in range(3):
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                    "-w", "-t", "60", "start",
                )  # fmt: skip
                return
            except RuntimeError as error:
                last = error
                time.sleep(0.2)
        raise RuntimeError(f"throwaway PostgreSQL did not start: {last}")

    def restart(self) -> None:
        """Stop (fast: clients are disconnected) and start again with the same options.

        `-l` again: without it the new postmaster would inherit our output pipe, and
        reading that pipe to its end would wait for the server to exit."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast",
            "-w", "-t", "60", "restart",
        )  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
