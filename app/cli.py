"""`dts` command line: run the processes, manage the schema and users, preview schedules."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import getpass
import logging
import os
import socket
import sys
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, NoReturn, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from app import __version__
from app.config import (
    ConfigError,
    Settings,
    default_app_url,
    exposed_secret_warning,
    load_settings,
)
from app.domain.errors import DtsError

T = TypeVar("T")


class _PlainArgument(TyperArgument):
    """Shown as its metavar (`EMAIL`), not as `{email} <str>`."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        return name if self.required else f"[{name}]"


class _PlainOption(TyperOption):
    """Shown with its metavar (`--tz ZONE`), a flag with nothing: never `<str>`/`<bool>`."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.is_flag else self.metavar


def _plain_help(params: Iterable[object]) -> None:
    # Typer builds these parameters itself, with no hook for their class: adopt them.
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _PlainArgument
        elif type(param) is TyperOption:
            param.__class__ = _PlainOption


class DtsCommand(TyperCommand):
    """A command whose --help names values by what they are (EMAIL, ZONE, N, ISO)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_help(self.params)

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            _plain_help([option])
        return option


class DtsGroup(TyperGroup):
    def get_help_option(self, ctx: Any) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            _plain_help([option])
        return option


cli = typer.Typer(
    name="dts",
    cls=DtsGroup,
    help="dts — self-hosted distributed cron and job scheduler.\n\n"
    "Configuration comes from DTS_* environment variables (see README).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def command(name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return cli.command(name, cls=DtsCommand)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"dts: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        fail(str(error))


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine; turn the errors a user can cause into one line, no traceback."""
    try:
        return asyncio.run(factory())
    except DtsError as error:
        fail(str(error))
    except (ConnectionError, OSError, TimeoutError) as error:
        fail(f"cannot reach the database: {error}")
    except Exception as error:
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

        if isinstance(error, OperationalError | InterfaceError | DBAPIError):
            detail = str(error.orig or error).splitlines()[0]
            fail(f"database error: {detail}")
        from app.db.migrate import SchemaOutOfDate

        if isinstance(error, SchemaOutOfDate):
            fail(str(error))
        raise


async def _prepare_database(settings: Settings, migrate: bool) -> str:
    from app.db import migrate as migrations
    from app.db.engine import Database

    db = Database(settings.database_url)
    try:
        if migrate:
            await migrations.upgrade_if_behind(db)  # loads Alembic only if there is work
        return await migrations.check(db)
    finally:
        await db.dispose()


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas for a long-running process; returns whether it took effect.

    glibc gives every thread that allocates an arena of its own (up to 8 per core), and each
    keeps its freed memory for itself. Here the threads are aiosqlite's (one per SQLite
    connection) and the event loop's executor (DNS lookups). Two arenas saved a SQLite
    worker 1–5 MB of RSS after a drain of a few thousand runs, at no measurable CPU cost
    (docs/benchmarks.md, memory finding). Must run before those threads start; an explicit
    `MALLOC_ARENA_MAX` in the environment wins.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        return int(ctypes.CDLL(None).mallopt(M_ARENA_MAX, count)) == 1
    except (OSError, AttributeError):  # not glibc
        return False


def _skip_httpx_cli() -> None:
    """Keep httpx from importing its command-line client (rich, pygments, click: ~6 MB).

    `import httpx` loads `httpx._main` whenever rich and click are importable, and they are
    (typer depends on them). A `None` entry in `sys.modules` makes that import fail, and
    httpx falls back to a stub for its own `httpx` command, which nothing here runs. Called
    before the worker is imported; no effect once httpx is loaded.
    """
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def _prepare(settings: Settings, migrate: bool) -> None:
    revision = run_async(lambda: _prepare_database(settings, migrate))
    logging.getLogger("dts").info("database ready at revision %s", revision)


MigrateOption = typer.Option(
    True, "--migrate/--no-migrate", help="Apply pending migrations at start (else only check)."
)
HostOption = typer.Option(
    None,
    metavar="HOST",
    help="Interface to listen on (default: DTS_HOST, else 127.0.0.1).",
    show_default=False,
)
PortOption = typer.Option(
    None,
    metavar="PORT",
    help="Port to listen on (default: DTS_PORT or PORT, else 4000).",
    show_default=False,
)


@command()
def up(
    host: str = HostOption,
    port: int = PortOption,
    migrate: bool = MigrateOption,
) -> None:
    """Run everything in one process: API, dashboard and a worker (SQLite by default)."""
    limit_malloc_arenas()
    settings, sockets = _listen(settings_or_exit(), host, port)
    configure_logging(settings)
    _prepare(settings, migrate)
    _skip_httpx_cli()
    from worker.main import make_non_dumpable

    make_non_dumpable()  # this process runs script jobs too
    _serve(settings, sockets, embedded_worker=True)


@command()
def api(
    host: str = HostOption,
    port: int = PortOption,
    migrate: bool = MigrateOption,
) -> None:
    """Run the API process only (GraphQL, REST, metrics, dashboard)."""
    limit_malloc_arenas()
    settings, sockets = _listen(settings_or_exit(), host, port)
    configure_logging(settings)
    _prepare(settings, migrate)
    _serve(settings, sockets, embedded_worker=False)


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Bind (not yet listen on) every address `host` resolves to, as asyncio would.

    Done before anything else starts, so that a busy port is one plain line and a non-zero
    exit, never a "listening" line followed by a traceback; the sockets are then handed to
    uvicorn, so nothing can take the port in between.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
    sockets: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _name, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.set_inheritable(True)
    except OSError as error:
        for sock in sockets:
            sock.close()
        if error.errno == errno.EADDRINUSE:
            fail(
                f"port {port} is already in use on {host}: is dts already running? "
                "Stop it, or choose another port with --port or DTS_PORT"
            )
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
    return sockets


def _listen(
    settings: Settings, host: str | None, port: int | None
) -> tuple[Settings, list[socket.socket]]:
    """Settings for the address actually served, and its bound sockets."""
    bind_host = host or settings.host
    bind_port = port or settings.port
    if bind_port != settings.port:
        # --port overrides DTS_PORT; a derived DTS_APP_URL (reset links) follows it.
        update: dict[str, object] = {"port": bind_port}
        if settings.app_url == default_app_url(settings.port):
            update["app_url"] = default_app_url(bind_port)
        settings = settings.model_copy(update=update)
    settings = settings.model_copy(update={"host": bind_host})
    warning = exposed_secret_warning(settings, bind_host)
    if warning is not None:
        typer.echo(warning, err=True)
    return settings, bind_sockets(bind_host, bind_port)


def _serve(settings: Settings, sockets: list[socket.socket], *, embedded_worker: bool) -> None:
    import uvicorn

    from app.server import create_app

    app = create_app(settings, embedded_worker=embedded_worker)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # X-Forwarded-For is applied by the app itself, from DTS_TRUSTED_PROXIES only.
        proxy_headers=False,
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    typer.echo(f"dts {__version__} listening on http://{shown}:{settings.port}", err=True)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn handles SIGINT; a second one lands here
        server.run(sockets=sockets)
    if not server.started:
        raise typer.Exit(1)


@command()
def worker(migrate: bool = MigrateOption) -> None:
    """Run a worker: scheduler tick, claiming, execution, recovery. Run as many as you like."""
    limit_malloc_arenas()
    settings = settings_or_exit()
    configure_logging(settings)
    _prepare(settings, migrate)
    _skip_httpx_cli()
    from worker.main import run_worker

    run_async(lambda: run_worker(settings))


@command("migrate")
def migrate_command() -> None:
    """Apply database migrations up to the latest revision."""
    settings = settings_or_exit()
    revision = run_async(lambda: _prepare_database(settings, True))
    typer.echo(f"database at revision {revision}")


@command("create-user")
def create_user(
    email: str = typer.Argument(..., metavar="EMAIL", help="E-mail address of the new account."),
    admin: bool = typer.Option(False, "--admin", help="Make the account an admin."),
    role: str = typer.Option(
        None, metavar="ROLE", help="Role: admin, member or viewer (default: member)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Create an account (the first account is always an admin)."""
    settings = settings_or_exit()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            fail("passwords do not match")
    chosen_role = "admin" if admin else role

    async def _create() -> Any:
        from app.db.engine import Database
        from app.db.migrate import check
        from app.services.users import create_user as create

        db = Database(settings.database_url)
        try:
            await check(db)
            return await create(db, email, password, role=chosen_role)
        finally:
            await db.dispose()

    user = run_async(_create)
    typer.echo(f"created {user.role} {user.email} (id {user.id})")


@command()
def preview(
    cron: str = typer.Argument(..., metavar="CRON", help='Cron expression, e.g. "30 2 * * *".'),
    tz: str = typer.Option(
        "UTC", "--tz", metavar="ZONE", help="IANA timezone, e.g. Europe/Berlin."
    ),
    n: str = typer.Option(
        "10", "-n", "--count", metavar="N", help="How many occurrences (1-1000)."
    ),
    start: str = typer.Option(
        None,
        "--from",
        metavar="ISO",
        help="Start instant, ISO 8601, e.g. 2026-03-29T00:00:00Z (default: now).",
    ),
    also: list[str] = typer.Option(
        [], "--also", metavar="ZONE", help="Also show times in this zone (repeatable)."
    ),
) -> None:
    """Preview the next occurrences of a cron expression, DST-aware."""
    from app.inspector_table import preview_table
    from app.services.inspector import preview as preview_schedule

    count_text = n.strip()
    digits = count_text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(count_text) > 12:
        fail(f"count: {n!r} is not a whole number; use -n 1 to -n 1000")
    try:
        result = preview_schedule(cron, tz, int(count_text), start, also)
    except DtsError as error:
        fail(str(error))
    typer.echo(preview_table(result))


@command("export-schema")
def export_schema(
    output: str = typer.Option(
        "schema.graphql", "-o", "--output", metavar="FILE", help="File to write ('-': stdout)."
    ),
) -> None:
    """Write the GraphQL schema (SDL) that typed clients are generated from."""
    from app.graphql.sdl import schema_sdl

    text = schema_sdl()
    if output == "-":
        typer.echo(text, nl=False)
        return
    with open(output, "w", encoding="utf-8") as file:
        file.write(text)
    typer.echo(f"wrote {output}", err=True)


@command()
def version() -> None:
    """Print the dts version."""
    typer.echo(__version__)


def main() -> None:
    cli()


# `dts monitors …`, `dts channels …` (they register themselves on `cli`).
from app import cli_monitors  # noqa: E402, F401
