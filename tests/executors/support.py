"""Helpers for executor tests: a real HTTP/1.1 server on loopback and a log recorder."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from worker.executors.base import ExecutionContext


@dataclass
class LogLine:
    at: float
    stream: str
    text: str


@dataclass
class LogRecorder:
    lines: list[LogLine] = field(default_factory=list)

    async def __call__(self, stream: str, text: str) -> None:
        self.lines.append(LogLine(time.monotonic(), stream, text))

    def texts(self, stream: str | None = None) -> list[str]:
        return [line.text for line in self.lines if stream is None or line.stream == stream]

    def joined(self) -> str:
        return "\n".join(f"[{line.stream}] {line.text}" for line in self.lines)


def make_context(
    log: LogRecorder, *, timeout: float = 5.0, run_id: int = 41, attempt: int = 2
) -> ExecutionContext:
    return ExecutionContext(
        run_id=run_id,
        attempt=attempt,
        idempotency_key=f"run-{run_id - attempt + 1}",
        timeout_seconds=timeout,
        log=log,
        cancelled=asyncio.Event(),
    )


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TargetServer:
    """A tiny HTTP/1.1 server (keep-alive, Content-Length bodies) that records traffic."""

    host: str = "127.0.0.1"
    port: int = 0
    port_v6: int = 0
    connections: int = 0
    requests: list[SeenRequest] = field(default_factory=list)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self.handlers.add(task)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line.strip():
                    return
                method, target, _version = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = SeenRequest(method, target, headers, body)
                self.requests.append(seen)
                status, extra, payload = await self.route(seen)
                reason = {
                    200: "OK",
                    201: "Created",
                    302: "Found",
                    303: "See Other",
                    307: "Temporary Redirect",
                    404: "Not Found",
                    429: "Too Many Requests",
                    500: "Internal Server Error",
                    503: "Service Unavailable",
                }.get(status, "Whatever")
                head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(payload)}"]
                head += [f"{k}: {v}" for k, v in extra.items()]
                if seen.method == "HEAD":
                    payload = b""  # Content-Length says what a GET would carry
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the fixture is shutting the server down
        finally:
            writer.close()

    async def route(self, seen: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        path = seen.path.split("?", 1)[0]
        text = {"Content-Type": "text/plain; charset=utf-8"}
        if path == "/ok":
            return 200, text, b"hello from the target\nsecond line\n"
        if path == "/created":
            return 201, {}, b""
        if path == "/missing":
            return 404, text, b"no such thing"
        if path == "/boom":
            return 500, text, b"it broke"
        if path == "/busy":
            return 429, {"Retry-After": "7"}, b""
        if path == "/busy-date":
            when = datetime.now(UTC) + timedelta(seconds=120)
            return 503, {"Retry-After": format_datetime(when, usegmt=True)}, b""
        if path == "/slow":
            await asyncio.sleep(10)
            return 200, text, b"late"
        if path == "/echo":
            payload = {"method": seen.method, "headers": seen.headers, "body": seen.body.decode()}
            return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()
        if path == "/padded-echo":  # "pad" dots, then the X-Sig header's value, echoed
            pad = int(seen.path.split("pad=", 1)[1])
            body = "." * pad + seen.headers.get("x-sig", "") + " tail\n"
            return 200, text, body.encode()
        if path == "/redirect":
            return 302, {"Location": "/ok"}, b""
        if path == "/redirect-to":
            return 302, {"Location": seen.path.split("to=", 1)[1]}, b""
        if path == "/see-other":
            return 303, {"Location": "/echo"}, b""
        if path == "/temporary":
            return 307, {"Location": "/echo"}, b""
        if path == "/loop":
            return 302, {"Location": "/loop"}, b""
        if path == "/to-ftp":
            return 302, {"Location": "ftp://files.example.com/x"}, b""
        if path == "/set-cookie":
            return 200, {"Set-Cookie": "session=abc123; Path=/"}, b"ok"
        if path == "/big":
            return 200, text, b"".join(b"line %05d of a long body\n" % i for i in range(2000))
        if path == "/binary":
            return 200, {"Content-Type": "application/octet-stream"}, bytes(range(256))
        return 404, text, b"unknown path"
