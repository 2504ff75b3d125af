"""`dts monitors …` and `dts channels …`: heartbeat monitors and alert channels from the
shell.

Like `dts create-user`, these talk to the database through the service layer (the same
rules and messages as the API), with the operator's rights: whoever can run `dts` with
the database's URL can change anything. A monitor is created for an account
(`--owner EMAIL`); the other commands act on any monitor, as an admin would. Services
are imported inside the commands, so `dts worker` loads none of this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from app.cli import DtsCommand, DtsGroup, cli, fail, run_async, settings_or_exit
from app.domain.errors import DtsError

if TYPE_CHECKING:
    from app.db.engine import Database
    from app.db.models import Monitor
    from app.services.access import Principal

T = TypeVar("T")

monitors_app = typer.Typer(
    cls=DtsGroup,
    help="Heartbeat monitors: list, create, pause, resume, delete.",
    no_args_is_help=True,
)
channels_app = typer.Typer(
    cls=DtsGroup, help="Alert channels: list them, send a test.", no_args_is_help=True
)
cli.add_typer(monitors_app, name="monitors")
cli.add_typer(channels_app, name="channels")

# The API's field names, as the arguments and options of these commands call them.
OPTION_OF_FIELD = {
    "id": "ID",
    "name": "NAME",
    "cron": "--cron",
    "timezone": "--tz",
    "periodSeconds": "--period",
    "graceSeconds": "--grace",
    "maxDurationSeconds": "--max-duration",
}

IdArgument = typer.Argument(..., metavar="ID", help="The monitor's id (see `dts monitors list`).")
OwnerFilter = typer.Option(
    None, "--owner", metavar="EMAIL", help="Only this account's (default: everyone's)."
)


def _operator() -> Principal:
    """The CLI's caller: the operator, with an admin's rights (and no account)."""
    from app.services.access import Principal

    return Principal(user_id=0, email="dts-cli", role="admin")


def _with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    settings = settings_or_exit()

    async def run() -> T:
        from app.db.engine import Database
        from app.db.migrate import check

        db = Database(settings.database_url)
        try:
            await check(db)
            return await work(db)
        except DtsError as error:  # named as on the command line: --period, not periodSeconds
            error.field = OPTION_OF_FIELD.get(error.field or "", error.field)
            raise
        finally:
            await db.dispose()

    return run_async(run)


async def _account(db: Database, email: str) -> Principal:
    from sqlalchemy import select

    from app.db.models import User
    from app.domain.errors import NotFound
    from app.services.users import normalise_email, principal_for

    address = normalise_email(email, "--owner")
    async with db.session() as session:
        user = await session.scalar(select(User).where(User.email == address))
    if user is None:
        raise NotFound(f"no account has the e-mail {address}", field="--owner")
    return principal_for(user)


def _ping_url(monitor: Monitor) -> str:
    return f"{settings_or_exit().app_url.rstrip('/')}/ping/{monitor.ping_key}"


def _schedule(monitor: Monitor) -> str:
    if monitor.schedule_kind == "cron":
        return f"{monitor.cron} ({monitor.timezone})"
    return f"every {monitor.period_seconds:g}s"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    top = "  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join(line.rstrip() for line in [top, *lines])


@monitors_app.command("list", cls=DtsCommand)
def list_monitors(owner: str = OwnerFilter) -> None:
    """List monitors, newest first: state, schedule, next expected ping (UTC)."""

    async def work(db: Database) -> list[list[str]]:
        from sqlalchemy import select

        from app.db.models import Monitor, User

        query = select(Monitor, User.email).join(User, User.id == Monitor.owner_id)
        if owner:
            query = query.where(Monitor.owner_id == (await _account(db, owner)).user_id)
        async with db.session() as session:
            found = (await session.execute(query.order_by(Monitor.id.desc()))).all()
        rows = []
        for monitor, email in found:
            expected = monitor.next_expected_at
            rows.append(
                [
                    str(monitor.id),
                    monitor.name,
                    "paused" if monitor.paused else monitor.state,
                    _schedule(monitor),
                    expected.strftime("%Y-%m-%d %H:%M:%S") if expected else "-",
                    email,
                ]
            )
        return rows

    rows = _with_db(work)
    if not rows:
        typer.echo("no monitors")
        return
    header = ["ID", "NAME", "STATE", "SCHEDULE", "NEXT EXPECTED (UTC)", "OWNER"]
    typer.echo(_table(header, rows))


@monitors_app.command("create", cls=DtsCommand)
def create_monitor(
    name: str = typer.Argument(..., metavar="NAME", help="What the monitor watches."),
    owner: str = typer.Option(
        ..., "--owner", metavar="EMAIL", help="The account that owns it (and is notified)."
    ),
    cron: str = typer.Option(
        None, "--cron", metavar="CRON", help='When the job runs, e.g. "30 2 * * *".'
    ),
    tz: str = typer.Option("UTC", "--tz", metavar="ZONE", help="IANA timezone of --cron."),
    period: float = typer.Option(
        None, "--period", metavar="SECONDS", help="Or: a ping every SECONDS (60 s to 366 days)."
    ),
    grace: float = typer.Option(
        300, "--grace", metavar="SECONDS", help="How late a ping may be before it is down."
    ),
    max_duration: float = typer.Option(
        None,
        "--max-duration",
        metavar="SECONDS",
        help="A /start not followed by success within SECONDS ran too long.",
    ),
) -> None:
    """Create a monitor and print its ping URL (the secret to give the job)."""
    data: dict[str, Any] = {"name": name, "timezone": tz, "graceSeconds": grace}
    if cron is not None:
        data["cron"] = cron
    if period is not None:
        data["periodSeconds"] = period
    if max_duration is not None:
        data["maxDurationSeconds"] = max_duration
    if cron is None and period is None:
        fail("--cron: give --cron CRON (with --tz ZONE) or --period SECONDS")

    async def work(db: Database) -> Monitor:
        from app.services.monitors import MonitorService

        principal = await _account(db, owner)
        return await MonitorService(db).create_monitor(principal, data)

    monitor = _with_db(work)
    typer.echo(f"created monitor {monitor.id} {monitor.name!r}")
    typer.echo(f"ping URL: {_ping_url(monitor)}")


def _change(monitor_id: int, paused: bool) -> Monitor:
    async def work(db: Database) -> Monitor:
        from app.services.monitors import MonitorService

        return await MonitorService(db).set_paused(_operator(), monitor_id, paused)

    return _with_db(work)


@monitors_app.command("pause", cls=DtsCommand)
def pause_monitor(monitor_id: int = IdArgument) -> None:
    """Stop late/down detection until resumed (or pinged)."""
    monitor = _change(monitor_id, True)
    typer.echo(f"paused monitor {monitor.id} {monitor.name!r}")


@monitors_app.command("resume", cls=DtsCommand)
def resume_monitor(monitor_id: int = IdArgument) -> None:
    """Resume a monitor: it starts over as new until its next ping."""
    monitor = _change(monitor_id, False)
    typer.echo(f"resumed monitor {monitor.id} {monitor.name!r} (new until its next ping)")


@monitors_app.command("delete", cls=DtsCommand)
def delete_monitor(monitor_id: int = IdArgument) -> None:
    """Delete a monitor, its pings, rule and incidents; its ping URL then answers 404."""

    async def work(db: Database) -> str:
        from app.services.monitors import MonitorService

        service = MonitorService(db)
        monitor = await service.get_monitor(_operator(), monitor_id)
        await service.delete_monitor(_operator(), monitor_id)
        return monitor.name

    name = _with_db(work)
    typer.echo(f"deleted monitor {monitor_id} {name!r}")


@monitors_app.command("ping-url", cls=DtsCommand)
def ping_url(monitor_id: int = IdArgument) -> None:
    """Print a monitor's ping URL (base: DTS_APP_URL)."""

    async def work(db: Database) -> Monitor:
        from app.services.monitors import MonitorService

        return await MonitorService(db).get_monitor(_operator(), monitor_id)

    typer.echo(_ping_url(_with_db(work)))


@channels_app.command("list", cls=DtsCommand)
def list_channels(owner: str = OwnerFilter) -> None:
    """List alert channels (targets masked: secrets are never shown)."""

    async def work(db: Database) -> list[list[str]]:
        from sqlalchemy import select

        from app.db.models import AlertChannel, User
        from app.services.channels import public_config

        query = select(AlertChannel, User.email).join(User, User.id == AlertChannel.owner_id)
        if owner:
            query = query.where(AlertChannel.owner_id == (await _account(db, owner)).user_id)
        async with db.session() as session:
            found = (await session.execute(query.order_by(AlertChannel.id))).all()
        rows = []
        for channel, email in found:
            config = public_config(channel)
            target = str(config.get("address") or config.get("url") or "")
            shared = "yes" if channel.shared else "no"
            rows.append([str(channel.id), channel.name, channel.kind, target, shared, email])
        return rows

    rows = _with_db(work)
    if not rows:
        typer.echo("no channels")
        return
    typer.echo(_table(["ID", "NAME", "KIND", "TARGET", "SHARED", "OWNER"], rows))


@channels_app.command("test", cls=DtsCommand)
def test_channel(
    channel_id: int = typer.Argument(..., metavar="ID", help="The channel's id."),
) -> None:
    """Send a test notification now and print the receiver's answer."""
    settings = settings_or_exit()

    async def work(db: Database) -> Any:
        from app.db.models import AlertChannel, User
        from app.db.types import utcnow
        from app.domain.errors import NotFound
        from app.services.channels import send_test
        from app.services.users import principal_for

        async with db.session() as session:
            channel = await session.get(AlertChannel, channel_id)
            user = await session.get(User, channel.owner_id) if channel else None
        if channel is None or user is None:
            raise NotFound(f"no channel with id {channel_id}", field="ID")
        # As its owner: the owner's test limit applies, as in the dashboard.
        return await send_test(db, settings, principal_for(user), channel_id, utcnow())

    result = _with_db(work)
    if not result.ok:
        fail(f"test not delivered: {result.error}")
    typer.echo(f"test delivered to channel {channel_id}")
