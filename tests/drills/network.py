"""A network partition between one worker and PostgreSQL, on this machine only.

The worker runs in its own network namespace, joined to the root namespace by a veth pair
with addresses in a private /30 (10.213.x.0/30) that exists nowhere else. PostgreSQL
listens on 127.0.0.1 only, so a small TCP proxy in the root namespace listens on our end
of the veth and forwards to 127.0.0.1:5432. `cut()` takes our end of the link down and
the worker's packets vanish: its open connections hang with no reset and no error, as in
a real partition, and new ones fail after a few seconds (no ARP answer), until `restore()`.

Where network namespaces are not available (not root, no iproute2; or DRILL_NETNS=off),
the worker stays in the root namespace and connects through the proxy on 127.0.0.1, and
`cut()` freezes the proxy instead: it stops forwarding bytes on every connection and
forwards nothing on new ones, so the worker's database connections hang just the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import secrets
import shutil
import subprocess
import threading

SUBNET_PREFIX = "10.213"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=10)


class TcpProxy:
    """Forwards TCP from (host, any port) to a target, in its own thread and event loop."""

    def __init__(self, host: str, target_host: str, target_port: int) -> None:
        self.host = host
        self.target = (target_host, target_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> int:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self.port

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
            self._tasks.discard(pump)
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        with contextlib.suppress(Exception):
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                await self._flowing.wait()  # frozen: hold the bytes, as a dead link would
                writer.write(data)
                await writer.drain()

    def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        event = self._flowing
        self._loop.call_soon_threadsafe(event.set if flowing else event.clear)

    def freeze(self) -> None:
        self._set_flowing(False)

    def thaw(self) -> None:
        self._set_flowing(True)

    def stop(self) -> None:
        async def _stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.sleep(0)

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


def namespaces_available() -> str | None:
    """None if we can create network namespaces here, else why not."""
    if os.environ.get("DRILL_NETNS", "").lower() == "off":
        return "DRILL_NETNS=off"
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    probe = f"dtsprobe-{secrets.token_hex(3)}"
    result = _ip("netns", "add", probe, check=False)
    if result.returncode != 0:
        return f"`ip netns add` failed: {result.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


class Partition:
    """A worker's path to PostgreSQL that a drill can cut and restore."""

    def __init__(self, pg_host: str = "127.0.0.1", pg_port: int = 5432) -> None:
        self.pg = (pg_host, pg_port)
        self.why_no_namespace = namespaces_available()
        self.namespace: str | None = None
        tag = secrets.token_hex(3)
        self._veth = f"dtsd{tag}a"
        self._peer = f"dtsd{tag}b"
        self._tag = tag
        self.host = "127.0.0.1"
        self.proxy: TcpProxy | None = None

    @property
    def mode(self) -> str:
        return "netns" if self.namespace else "proxy"

    def _free_subnet(self) -> ipaddress.IPv4Network:
        used = _ip("-o", "-4", "addr", "show").stdout
        for _ in range(50):
            third, fourth = secrets.randbelow(256), secrets.randbelow(64) * 4
            net = ipaddress.IPv4Network(f"{SUBNET_PREFIX}.{third}.{fourth}/30")
            if f" {net[1]}/" not in used:
                return net
        raise RuntimeError(f"no free {SUBNET_PREFIX}.x.y/30 subnet found")

    def setup(self) -> None:
        if self.why_no_namespace is None:
            net = self._free_subnet()
            ours, theirs = str(net[1]), str(net[2])
            name = f"dtsdrill-{self._tag}"
            _ip("netns", "add", name)
            self.namespace = name
            _ip("link", "add", self._veth, "type", "veth", "peer", "name", self._peer)
            _ip("link", "set", self._peer, "netns", name)
            _ip("addr", "add", f"{ours}/30", "dev", self._veth)
            _ip("link", "set", self._veth, "up")
            _ip("-n", name, "addr", "add", f"{theirs}/30", "dev", self._peer)
            _ip("-n", name, "link", "set", self._peer, "up")
            _ip("-n", name, "link", "set", "lo", "up")
            self.host = ours
        self.proxy = TcpProxy(self.host, *self.pg)
        self.proxy.start()

    def database_url(self, url: str) -> str:
        """`url` (on 127.0.0.1:5432) as the partitioned worker must reach it."""
        assert self.proxy is not None
        scheme, rest = url.split("://", 1)
        credentials, _, location = rest.rpartition("@")
        _, _, database = location.partition("/")
        at = f"{credentials}@" if credentials else ""
        return f"{scheme}://{at}{self.host}:{self.proxy.port}/{database}"

    @property
    def prefix(self) -> list[str]:
        """Command prefix that runs a program on the far side of the link."""
        return ["ip", "netns", "exec", self.namespace] if self.namespace else []

    def cut(self) -> None:
        if self.namespace:
            _ip("link", "set", self._veth, "down")
        else:
            assert self.proxy is not None
            self.proxy.freeze()

    def restore(self) -> None:
        if self.namespace:
            _ip("link", "set", self._veth, "up")
        else:
            assert self.proxy is not None
            self.proxy.thaw()

    def teardown(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        if self.namespace:
            pids = _ip("netns", "pids", self.namespace, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            _ip("netns", "del", self.namespace, check=False)
            _ip("link", "del", self._veth, check=False)  # normally gone with the namespace
            self.namespace = None
