"""Apply and check Alembic migrations from async code (CLI, server start, tests).

Only applying migrations needs Alembic, and `upgrade` imports it when called. Checking
(every process start, `/api/health`) does without it: the current revision is the row in
`alembic_version`, and the code's head is read from the `revision` / `down_revision`
lines of `migrations/versions/*.py`, without running those files. A worker or API process
on a schema already at head never loads Alembic and Mako (about 8 MB of RSS). Anything
unusual (several heads, `depends_on`, a revision id that is not a literal, several rows in
`alembic_version`) is left to Alembic itself, so answers and errors stay Alembic's.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from app.db.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default (env.py keeps it); read in _current


def alembic_config(url: str = "") -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class _NotPlain(Exception):
    """The migration files need Alembic's own reading (see the module docstring)."""


def _literal_assignments(path: Path) -> dict[str, Any]:
    """Module-level `name = <literal>` / `name: T = <literal>` of one file, not run."""
    found: dict[str, Any] = {}
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, ValueError, UnicodeDecodeError) as error:
        raise _NotPlain(path.name) from error  # Alembic reports it in its own words
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                found[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                found[target.id] = _NotPlain
    return found


def _plain_head(versions: Path) -> str:
    """The single head of a linear (or merged) history of plain revision files."""
    revisions: set[str] = set()
    parents: set[str] = set()
    # The files Alembic loads: *.py, except __init__ and editor lock files (".#…").
    for path in sorted(versions.glob("*.py")):
        if path.name.startswith(("__init__", ".#")):
            continue
        names = _literal_assignments(path)
        revision, down = names.get("revision"), names.get("down_revision")
        if not isinstance(revision, str) or names.get("depends_on") is not None:
            raise _NotPlain(path.name)
        down_revisions = (down,) if isinstance(down, str) else down or ()
        if not isinstance(down_revisions, tuple | list) or not all(
            isinstance(d, str) for d in down_revisions
        ):
            raise _NotPlain(path.name)
        revisions.add(revision)
        parents.update(down_revisions)
    heads = revisions - parents
    if len(heads) != 1 or not parents <= revisions:
        raise _NotPlain("no single head")
    return heads.pop()


@functools.cache
def head_revision() -> str:
    """The revision this code's migrations end at (what `check` expects)."""
    try:
        return _plain_head(VERSIONS)
    except _NotPlain:
        return _alembic_head()


async def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    config = alembic_config(db.url)

    def _upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Several processes (api, workers) may start at once: one migrates, the rest wait.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7320431)")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    if db.is_sqlite:
        async with db.engine.connect() as conn:
            await conn.run_sync(_without_foreign_keys, _upgrade)
        return
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade)


def _without_foreign_keys(connection: Connection, work: Callable[[Connection], None]) -> None:
    """Run `work` in one transaction with SQLite's foreign keys off, checked before commit.

    Rebuilding a table (Alembic's batch mode: copy, drop the old, rename) with foreign
    keys on would cascade the drop to the rows that reference it: dropping the old `jobs`
    deletes every run. SQLite ignores the pragma inside a transaction, so it is set on the
    connection before one begins, and restored after.
    """
    driver = connection.connection  # the DBAPI connection; no transaction begun yet
    cursor = driver.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=OFF")
        with connection.begin():
            work(connection)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows with broken references: {broken[:5]}")
    finally:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:  # a branched schema: Alembic's error (or answer) for it
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()
    return str(rows[0]) if rows else None


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade_if_behind(db: Database) -> None:
    """`upgrade` to head, loading Alembic only when the schema is not already there.

    A schema at head needs nothing applied; anything else (behind, empty, or a revision
    this code does not know) goes to Alembic, which applies or refuses as it always has.
    """
    if await current_revision(db) != head_revision():
        await upgrade(db)


class SchemaOutOfDate(Exception):
    pass


async def check(db: Database) -> str:
    """Return the current revision; raise SchemaOutOfDate if it is not the code's head."""
    current = await current_revision(db)
    head = head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at revision {current or 'none'}, this dts needs {head}; "
            "run `dts migrate`"
        )
    return current
