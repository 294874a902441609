"""The checker's own HTTP/1.1 exchange against servers that break the protocol on purpose."""

from __future__ import annotations

import asyncio

import pytest

from feedsvc.links import eventloop
from feedsvc.links.wire import _dechunk, parse_head
from tests.links.conftest import make_checker
from tests.links.servers import respond


def run_all(urls: list[str], **overrides) -> dict:
    async def go() -> dict:
        async with make_checker(**overrides) as checker:
            return {r.url: r async for r in checker.check_many(urls)}
    return eventloop.run(go())


def test_an_endless_response_head_is_an_error_not_a_download(server):
    @server.route("/headers-forever")
    async def forever(request, writer):
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for n in range(100_000):
            writer.write(f"X-Filler-{n}: {'a' * 60}\r\n".encode())
            await writer.drain()

    url = server.url("/headers-forever", "site.test")
    result = run_all([url])[url]
    assert result.status == "error" and "longer than 65536 bytes" in result.error


def test_not_http_is_an_error(server):
    @server.route("/garbage")
    async def garbage(request, writer):
        writer.write(b"SSH-2.0-OpenSSH_9.0\r\n\r\n")
        await writer.drain()

    url = server.url("/garbage", "site.test")
    result = run_all([url])[url]
    assert result.status == "error" and "not an HTTP/1.x status line" in result.error


def test_an_interim_answer_and_the_final_one_in_one_packet(server):
    @server.route("/continue")
    async def interim(request, writer):  # 100 Continue and the answer, written at once
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
                     b"Content-Length: 0\r\n\r\n")
        await writer.drain()

    url = server.url("/continue", "site.test")
    result = run_all([url], timeout=30.0, deadline=60.0)[url]
    assert (result.status, result.code) == ("broken", 404)
    assert result.elapsed_ms < 10_000  # read from what came with the 100, not waited for


def test_a_head_answered_with_a_body_does_not_poison_the_next_request(server):
    @server.route("/head-with-body")
    async def head_with_body(request, writer):  # a body on a HEAD: what some servers do
        await respond(writer, 200, {}, b"<p>this should not be here</p>")

    first = server.url("/head-with-body", "site.test")
    second = server.url("/ok", "site.test")
    results = run_all([first, second], per_host=1)
    assert results[first].status == "ok" and results[second].status == "ok"
    assert results[second].code == 200


def test_a_kept_connection_is_reused_and_one_the_server_closed_is_replaced(server):
    @server.route("/close-after")
    async def close_after(request, writer):
        await respond(writer, 200, {"Connection": "close"}, head=request.method == "HEAD")
        writer.close()

    urls = [server.url(f"/ok?n={n}", "site.test") for n in range(5)]
    closing = [server.url(f"/close-after?n={n}", "site.test") for n in range(3)]
    before = server.connections
    results = run_all(urls + closing, per_host=1)
    assert {r.status for r in results.values()} == {"ok"}
    # The five /ok HEADs share one connection; each "Connection: close" answer costs one.
    assert server.connections - before <= 1 + len(closing) + 1



def test_a_kept_connection_the_server_drops_at_once_is_replaced_and_every_check_answers(server):
    """A server that keeps nothing alive but does not say so: it answers, then closes. The
    next request of that host may go out before the close is seen (a recently used
    connection is reused on what its protocol saw, without a poll); it is then made again
    on a new connection, once, and the check is not failed."""
    @server.route("/drop")
    async def drop(request, writer):
        await respond(writer, 200, {}, head=request.method == "HEAD")
        writer.close()

    urls = [server.url(f"/drop?n={n}", "site.test") for n in range(6)]
    before = server.connections
    results = run_all(urls, per_host=1)
    assert {(r.status, r.code) for r in results.values()} == {("ok", 200)}
    assert server.connections - before >= len(urls)  # no connection served two answers

def test_parsing_and_dechunking_rules():
    # A line starting with a space continues the previous header (obsolete folding).
    status, headers, keep = parse_head(b"HTTP/1.1 301 Moved\r\nLocation: /x\r\n X-Folded: yes\r\n"
                                       b"Connection: close")
    assert (status, keep) == (301, False) and headers[0] == (b"location", b"/x X-Folded: yes")
    assert parse_head(b"HTTP/1.0 200 OK")[2] is False
    assert _dechunk(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", 100) == (b"hello world", True)
    assert _dechunk(b"5\r\nhello\r\n6\r\n wor", 100) == (b"hello wor", False)
    assert _dechunk(b"5\r\nhello\r\n6\r\n world\r\n", 7) == (b"hello w", True)


def test_an_idle_connection_past_descriptor_1024_is_still_reusable():
    """Whether an idle connection is still good is asked of the socket without select():
    select() refuses descriptors past 1024, and every connection of a run with a thousand
    hosts was then thrown away and made anew."""
    import resource
    import socket

    from feedsvc.links.streams import _readable

    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2048:
        pytest.skip("needs more than 2048 open files")
    spare = [socket.socket() for _ in range(1100)]  # the next descriptors are past 1024
    ours, peer = socket.socketpair()
    try:
        assert ours.fileno() > 1024
        assert not _readable(ours)
        peer.sendall(b"x")  # delivered before sendall returns (a Unix socket pair)
        assert _readable(ours)
    finally:
        for sock in (*spare, ours, peer):
            sock.close()


def test_a_read_times_out_after_its_timeout_and_one_that_is_answered_leaves_no_deadline():
    """Reads that wait share one timer per tick of their loop (streams._ReadDeadlines): a
    silent peer still fails the read with httpcore's ReadTimeout, no sooner than asked
    and within a tick of it, and an answered read leaves nothing behind to expire."""
    import time

    import httpcore

    from feedsvc.links.streams import DEADLINE_TICK, AsyncioBackend, _deadlines_of

    async def go() -> tuple[float, bytes, int]:
        async def answer_later(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1)  # answers only what it is sent: the first connection gets nothing
            writer.write(b"pong")
            await writer.drain()

        server = await asyncio.start_server(answer_later, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        backend = AsyncioBackend()
        silent = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        began = time.monotonic()
        with pytest.raises(httpcore.ReadTimeout):
            # wait_for's own TimeoutError is not httpcore's: a read left waiting fails the test
            await asyncio.wait_for(silent.read(100, timeout=0.3), 10)
        waited = time.monotonic() - began
        talking = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        await talking.write(b"p", timeout=5)
        data = await talking.read(100, timeout=5)
        pending = len(_deadlines_of(asyncio.get_running_loop()).waiting)
        for stream in (silent, talking):
            await stream.aclose()
        server.close()
        await server.wait_closed()
        return waited, data, pending

    waited, data, pending = eventloop.run(go())
    assert waited >= 0.3
    assert waited < 0.3 + DEADLINE_TICK + 2.0  # a tick late at most, with room for a slow machine
    assert data == b"pong" and pending == 0
