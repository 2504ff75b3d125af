"""The schema check without Alembic: the head read from the migration files, as Alembic
reads it, and the fallback to Alembic for histories that are not a plain chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db import migrate
from app.db.engine import Database


def test_head_is_alembics_head() -> None:
    assert migrate.head_revision() == migrate._alembic_head()


def _revision(directory: Path, name: str, revision: str, down: str, extra: str = "") -> None:
    (directory / f"{name}.py").write_text(
        f'"""{name}"""\n\nfrom alembic import op\n\n'
        f'revision: str = "{revision}"\ndown_revision: str | None = {down}\n{extra}\n\n'
        "def upgrade() -> None:\n    op.execute('SELECT 1')\n"
    )


def test_plain_head_of_a_chain_and_of_a_merge(tmp_path: Path) -> None:
    _revision(tmp_path, "0001_first", "0001", "None")
    _revision(tmp_path, "0002_second", "0002", '"0001"')
    assert migrate._plain_head(tmp_path) == "0002"
    _revision(tmp_path, "0003_branch", "0003", '"0001"')
    _revision(tmp_path, "0004_merge", "0004", '("0002", "0003")')
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "notes.txt").write_text("revision = 'x'")
    assert migrate._plain_head(tmp_path) == "0004"


@pytest.mark.parametrize(
    "case",
    ["two heads", "depends_on", "computed revision", "unknown parent", "syntax error"],
)
def test_unusual_histories_are_left_to_alembic(tmp_path: Path, case: str) -> None:
    _revision(tmp_path, "0001_first", "0001", "None")
    if case == "two heads":
        _revision(tmp_path, "0002_a", "0002", '"0001"')
        _revision(tmp_path, "0003_b", "0003", '"0001"')
    elif case == "depends_on":
        _revision(tmp_path, "0002_a", "0002", '"0001"', 'depends_on = "0001"')
    elif case == "syntax error":
        (tmp_path / "0002_a.py").write_text('revision = "0002"\ndown_revision = (\n')
    elif case == "computed revision":
        (tmp_path / "0002_a.py").write_text('revision = "00" + "02"\ndown_revision = "0001"\n')
    else:
        _revision(tmp_path, "0002_a", "0002", '"0000"')
    with pytest.raises(migrate._NotPlain):
        migrate._plain_head(tmp_path)


async def test_upgrade_if_behind_migrates_a_fresh_database_and_then_does_nothing(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert await migrate.current_revision(database) is None
        await migrate.upgrade_if_behind(database)
        assert await migrate.check(database) == migrate.head_revision()
        await migrate.upgrade_if_behind(database)  # at head: nothing to apply
        assert await migrate.current_revision(database) == migrate.head_revision()
    finally:
        await database.dispose()
