"""`dts preview`: the inspector in a terminal, as a real subprocess."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from app.cli import cli
from tests.live import DTS, REPO, dts_env


async def dts(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *DTS,
        *args,
        cwd=REPO,
        env=dts_env("sqlite:///unused.db"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_table_with_the_dst_note_in_berlin() -> None:
    code, out, err = await dts(
        "preview",
        "30 2 * * *",
        "--tz",
        "Europe/Berlin",
        "-n",
        "4",
        "--from",
        "2026-03-27T00:00:00Z",
        "--also",
        "America/New_York",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "30 2 * * * in Europe/Berlin: At 02:30 every day"
    assert lines[1] == "next 4 after 2026-03-27T00:00:00Z"
    rows = lines[4:]
    assert len(rows) == 4
    assert rows[0].split()[:5] == ["1", "2026-03-27", "02:30", "CET", "(+01:00)"]
    assert "2026-03-27 01:30 UTC" in rows[0] and "2026-03-26 21:30 EDT" in rows[0]
    # 02:30 does not exist on the night of the change: the run moves to 03:00 CEST.
    assert rows[2].split()[:5] == ["3", "2026-03-29", "03:00", "CEST", "(+02:00)"]
    assert "2026-03-29 01:00 UTC" in rows[2]
    assert "02:30 does not exist on 2026-03-29 in Europe/Berlin; runs at 03:00 CEST" in rows[2]
    assert "DST" not in rows[0] + rows[1] + rows[3]
    assert rows[3].split()[:5] == ["4", "2026-03-30", "02:30", "CEST", "(+02:00)"]


async def test_seconds_and_default_start() -> None:
    code, out, err = await dts("preview", "*/20 * * * * *", "-n", "3")
    assert code == 0, err
    rows = out.splitlines()[4:]
    assert len(rows) == 3
    assert all(row.split()[2][-2:] in ("00", "20", "40") for row in rows)


BAD_INPUTS = [
    (["@hourly", "-n", "0"], "dts: count: must be a whole number from 1 to 1000, got 0"),
    (["@hourly", "-n", "100000"], "dts: count: must be a whole number from 1 to 1000"),
    (["@hourly", "-n", "ten"], "dts: count: 'ten' is not a whole number"),
    (["61 * * * *"], "dts: cron: minute field: '61' is out of range 0-59"),
    (["@hourly", "--tz", "Europe/Berln"], "dts: timezone: unknown timezone 'Europe/Berln'"),
    (["@hourly", "--from", "tomorrow"], "dts: from: 'tomorrow' is not an ISO 8601 time"),
    (["@hourly", "--also", "Nowhere/Land"], "dts: zones[0]: unknown timezone 'Nowhere/Land'"),
]


async def test_bad_input_is_one_line_and_exit_1() -> None:
    code, out, err = await dts("preview", *BAD_INPUTS[0][0])
    assert (code, out) == (1, "")
    assert err == BAD_INPUTS[0][1] + "\n"
    # The rest in-process (a subprocess each would cost a second of imports): same code path.
    runner = CliRunner()
    for args, message in BAD_INPUTS:
        result = runner.invoke(cli, ["preview", *args])
        assert result.exit_code == 1, (args, result.output)
        assert result.stdout == "", args
        assert result.stderr.startswith(message), (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
