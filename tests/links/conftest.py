"""A misbehaving loopback web server, and a checker allowed to reach only 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from feedsvc.links import eventloop
from feedsvc.links.checker import CheckerConfig, LinkChecker
from feedsvc.links.guard import StaticResolver
from tests.links.servers import LoopbackServer, reset, respond

GIB = 1024 ** 3


def install_routes(server: LoopbackServer) -> None:
    @server.route("/ok")
    async def ok(request, writer):
        await respond(writer, 200, {"Content-Type": "text/html"}, b"<p>fine</p>",
                      head=request.method == "HEAD")

    @server.route("/moved")
    async def moved(request, writer):
        await respond(writer, 301, {"Location": "/ok"}, head=request.method == "HEAD")

    for name, code, target in (("/chain-1", 302, "/chain-2"), ("/chain-2", 307, "/chain-3"),
                               ("/chain-3", 302, "/ok"), ("/perm-chain", 302, "/perm-2"),
                               ("/perm-2", 308, "/ok"), ("/loop-a", 302, "/loop-b"),
                               ("/loop-b", 302, "/loop-a"), ("/to-ftp", 301, "ftp://files.test/x")):
        def make(code=code, target=target):
            async def redirect(request, writer):
                await respond(writer, code, {"Location": target}, head=request.method == "HEAD")
            return redirect
        server.routes[name] = make()

    @server.route("/endless")
    async def endless(request, writer):
        n = int(request.path.partition("?n=")[2] or 0)
        await respond(writer, 302, {"Location": f"/endless?n={n + 1}"}, head=request.method == "HEAD")

    @server.route("/gone")
    async def gone(request, writer):
        await respond(writer, 410, head=request.method == "HEAD")

    @server.route("/no-head")
    async def no_head(request, writer):
        if request.method == "HEAD":
            await respond(writer, 405, {"Allow": "GET"}, head=True)
        else:
            await respond(writer, 200, {}, b"hello")

    @server.route("/head-forbidden")
    async def head_forbidden(request, writer):
        await respond(writer, 403 if request.method == "HEAD" else 200, {}, b"ok",
                      head=request.method == "HEAD")

    @server.route("/forbidden")
    async def forbidden(request, writer):
        await respond(writer, 403, {}, b"bot wall", head=request.method == "HEAD")

    @server.route("/rate-limited")
    async def rate_limited(request, writer):
        first = server.hits["/rate-limited"] <= 2  # HEAD and GET of the first attempt
        await respond(writer, 429 if first else 200, {"Retry-After": "1"} if first else {},
                      head=request.method == "HEAD")

    @server.route("/always-429")
    async def always_429(request, writer):
        await respond(writer, 429, {"Retry-After": "3600"}, head=request.method == "HEAD")

    @server.route("/flaky")
    async def flaky(request, writer):
        first = server.hits["/flaky"] <= 2
        await respond(writer, 503 if first else 200, {"Retry-After": "1"} if first else {},
                      head=request.method == "HEAD")

    @server.route("/server-error")
    async def server_error(request, writer):
        await respond(writer, 500, head=request.method == "HEAD")

    @server.route("/silent")
    async def silent(request, writer):
        await asyncio.sleep(3600)

    @server.route("/drip")
    async def drip(request, writer):
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 3600:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1)

    @server.route("/huge")
    async def huge(request, writer):
        if request.method == "HEAD":
            await respond(writer, 405, head=True)
            return
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {5 * GIB}\r\n\r\n".encode())
        chunk = b"x" * 65536
        sent = 0
        while sent < 5 * GIB:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            server.bytes_sent["/huge"] = sent

    @server.route("/reset")
    async def reset_route(request, writer):
        reset(writer)

    @server.route("/slow")
    async def slow(request, writer):
        await asyncio.sleep(0.3)
        await respond(writer, 200, head=request.method == "HEAD")


@pytest.fixture
def server():
    srv = LoopbackServer("127.0.0.1").start()
    install_routes(srv)
    yield srv
    srv.stop()


RESOLVER = StaticResolver({"site.test": "127.0.0.1", "other.test": "127.0.0.1",
                           "warm.test": "127.0.0.1", "second.test": "127.0.0.2"})


def make_checker(**overrides) -> LinkChecker:
    config = CheckerConfig(**{"user_agent": "feedsvc-test", "concurrency": 10, "per_host": 2,
                              "host_gap": 0.0, "timeout": 1.0, "deadline": 3.0,
                              "max_redirects": 10, "run_budget": 20.0, **overrides})
    return LinkChecker(config, allow=["127.0.0.1/32"], resolver=RESOLVER)


@pytest.fixture
def check():
    """check(url, **config) -> CheckResult, each call with a fresh checker."""

    def run(url: str, **overrides):
        async def go():
            async with make_checker(**overrides) as checker:
                return await checker.check(url)
        return eventloop.run(go())

    return run
