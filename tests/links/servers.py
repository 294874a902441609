"""Real HTTP servers on loopback for the link-checker tests, misbehaving on purpose.

A tiny HTTP/1.1 server on asyncio streams, in a thread of its own, so each
route can do what real servers do wrong: never answer, drip headers, reset
the connection, send gigabytes. It records what it saw server-side
(connections, requests, requests in flight per host, bytes sent), which is
what the politeness and no-download tests measure.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    started: float = field(default_factory=time.monotonic)

    @property
    def host(self) -> str:
        return self.headers.get("host", "").split(":")[0]


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


async def respond(writer: asyncio.StreamWriter, status: int, headers: dict[str, str] | None = None,
                  body: bytes = b"", *, head: bool = False) -> None:
    lines = [f"HTTP/1.1 {status} X"]
    headers = {"Content-Length": str(len(body)), **(headers or {})}
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head else body))
    await writer.drain()


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.routes: dict[str, Handler] = {}
        self.connections = 0
        self.requests: list[Request] = []
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.bytes_sent: dict[str, int] = defaultdict(int)
        self.hits: dict[str, int] = defaultdict(int)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def route(self, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes[path] = handler
            return handler
        return register

    def url(self, path: str, name: str | None = None) -> str:
        return f"http://{name or self.host}:{self.port}{path}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, self.host, 0), self._loop)
        self._server = future.result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                request = Request(method, path, headers)
                self.requests.append(request)
                self.hits[path] += 1
                host = request.host
                self.in_flight[host] += 1
                self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
                try:
                    handler = self.routes.get(path.split("?")[0], _not_found)
                    await handler(request, writer)
                finally:
                    self.in_flight[host] -= 1
        except (ConnectionError, asyncio.CancelledError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def _not_found(request: Request, writer: asyncio.StreamWriter) -> None:
    await respond(writer, 404, head=request.method == "HEAD")


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0): a 'connection reset by peer'."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def redirect_to(location: str, code: int = 302) -> Handler:
    """A route answering every request with a redirect to `location`, sent byte for byte."""

    async def redirect(request: Request, writer: asyncio.StreamWriter) -> None:
        await respond(writer, code, {"Location": location}, head=request.method == "HEAD")

    return redirect


def answer(status: int, headers: dict[str, str] | None = None) -> Handler:
    """A route answering every request (HEAD or GET) with `status` and `headers`."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await respond(writer, status, headers, b"" if status != 200 else b"<p>fine</p>",
                      head=request.method == "HEAD")

    return handler
