"""A light HTTP/1.1 exchange for the link checker: a HEAD, or a GET read only as far as needed.

The checker needs a status code and two headers (`Location`, `Retry-After`) per
request, and sometimes the first 64 KB of a page. httpcore's general client did
that through h11's event machinery, anyio locks around its pool, and trace and
header-normalisation objects per request: profiled at concurrency 400, about
two thirds of the checker's CPU. This module writes the request itself and
reads the response head with bounds (64 KB of head at most, a timeout per
read), on the same guarded connections: every new connection still comes from
`GuardedBackend.connect_tcp`, so the SSRF guard decides every connection of
every hop. Failures are raised as httpcore's exception types (ReadError,
ReadTimeout, RemoteProtocolError...), so the checker's reasons read as before.

Connections are kept alive per origin after a response with no body (HEAD, or
an answer the server said had none) and reused while idle less than a few
seconds and not readable (a server that closed it, or sent stray bytes, loses
it); a GET whose body is not wanted closes its connection, which is how a
multi-gigabyte page costs a few kilobytes.
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpcore

from feedsvc.links.streams import AsyncioStream

MAX_HEAD = 64 * 1024  # bytes of status line and headers accepted
KEEPALIVE = 5.0       # seconds an idle connection is kept
# An idle connection younger than this is reused on what its protocol saw (an EOF, stray
# bytes), without asking the socket: a poll per request was about a twentieth of a busy
# checker's CPU, and a close that races the request costs one retry on a new connection
# (`Wire.request`), which a close the server makes at its keep-alive timeout (seconds) does
# not even risk.
FRESH = 1.0
Origin = tuple[str, str, int]  # scheme, host (as connected to), port


@dataclass(slots=True)
class Answer:
    """A response head, and the connection it came on (with what was read past the head)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    stream: httpcore.AsyncNetworkStream
    rest: bytes
    keep_alive: bool

    def header(self, name: bytes) -> str | None:
        """A header as httpx's `Headers.get` reads it: repeated fields joined by ", ",
        UTF-8 when it decodes, else Latin-1."""
        values = [value for key, value in self.headers if key == name]
        if not values:
            return None
        raw = b", ".join(values)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]], bool]:
    """Status, headers (names lower-cased) and whether the connection may be kept, from a
    response head without its final blank line. Raises RemoteProtocolError when it is not
    HTTP/1.x."""
    lines = head.split(b"\n")
    status_line = lines[0].rstrip(b"\r")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 \
            or not parts[1].isdigit():
        raise httpcore.RemoteProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for raw in lines[1:]:
        line = raw.rstrip(b"\r")
        if line[:1] in (b" ", b"\t") and headers:  # an obsolete folded continuation
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise httpcore.RemoteProtocolError(f"malformed header line: {line[:80]!r}")
        headers.append((name.lower(), value.strip(b" \t")))
    connection = b",".join(v for k, v in headers if k == b"connection").lower()
    keep = parts[0] == b"HTTP/1.1" and b"close" not in connection
    return int(parts[1]), headers, keep


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _has_input(stream: httpcore.AsyncNetworkStream, *, ask_socket: bool) -> bool:
    """Whether an idle connection has something to read (it closed, or sent stray bytes)."""
    if isinstance(stream, AsyncioStream):
        return stream.readable(ask_socket=ask_socket)
    return bool(stream.get_extra_info("is_readable"))


class Wire:
    """Requests over kept-alive connections, a small idle list per origin."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend,
                 ssl_context: Callable[[], ssl.SSLContext], timeout: float) -> None:
        self.backend = backend
        self._make_ssl = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self.timeout = timeout
        self._idle: dict[Origin, list[tuple[httpcore.AsyncNetworkStream, float]]] = {}

    def _limit(self, deadline: float | None) -> float:
        """The timeout of the next network operation: the per-operation timeout, or less if
        the request's deadline (time.monotonic) falls sooner."""
        if deadline is None:
            return self.timeout
        return max(0.0, min(self.timeout, deadline - time.monotonic()))

    async def _connect(self, origin: Origin, deadline: float | None) -> httpcore.AsyncNetworkStream:
        scheme, host, port = origin
        stream = await self.backend.connect_tcp(host, port, timeout=self._limit(deadline))
        if scheme == "https":
            if self._ssl is None:  # made at the first https connection, then kept
                self._ssl = self._make_ssl()
            stream = await stream.start_tls(self._ssl, None if _is_ip(host) else host,
                                            self._limit(deadline))
        return stream

    def _reuse(self, origin: Origin) -> httpcore.AsyncNetworkStream | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            stream, since = idle.pop()
            if now - since < KEEPALIVE and not _has_input(stream, ask_socket=now - since >= FRESH):
                return stream
            self._drop(stream)
        return None

    @staticmethod
    def _drop(stream: httpcore.AsyncNetworkStream) -> None:
        if isinstance(stream, AsyncioStream):  # ours: abort at once
            stream.abort()

    async def request(self, origin: Origin, data: bytes, sent: Callable[[], None],
                      deadline: float | None = None) -> Answer:
        """Send one request (`data`, the whole of it) and read the response head, every
        operation within the timeout and, when given, before `deadline` (time.monotonic).
        A kept connection the server had given up on is replaced by a new one, once."""
        stream = self._reuse(origin)
        if stream is not None:
            try:
                return await self._exchange(stream, data, sent, deadline)
            except (httpcore.ReadError, httpcore.WriteError, httpcore.RemoteProtocolError):
                await self.close(stream)  # it died while idle: a fresh connection, once
        return await self._exchange(await self._connect(origin, deadline), data, sent, deadline)

    async def _exchange(self, stream: httpcore.AsyncNetworkStream, data: bytes,
                        sent: Callable[[], None], deadline: float | None) -> Answer:
        try:
            sent()
            await stream.write(data, self._limit(deadline))
            rest = b""
            while True:  # an interim 1xx head is skipped; what followed it is the next head
                status, headers, keep, rest = await self._head(stream, deadline, rest)
                if not (100 <= status < 200) or status == 101:
                    return Answer(status, headers, stream, rest, keep)
        except BaseException:
            await self.close(stream)
            raise

    async def _head(self, stream: httpcore.AsyncNetworkStream, deadline: float | None,
                    buffer: bytes) -> tuple[int, list[tuple[bytes, bytes]], bool, bytes]:
        data = bytearray(buffer)
        while True:
            end = data.find(b"\r\n\r\n")
            size = 4
            if end < 0:
                end, size = data.find(b"\n\n"), 2
            if end >= 0:
                status, headers, keep = parse_head(bytes(data[:end]))
                return status, headers, keep, bytes(data[end + size:])
            if len(data) > MAX_HEAD:
                raise httpcore.RemoteProtocolError(f"a response head longer than {MAX_HEAD} bytes")
            chunk = await stream.read(65536, self._limit(deadline))
            if not chunk:
                raise httpcore.RemoteProtocolError(
                    "Server disconnected without sending a response." if not data
                    else "the server closed the connection inside the response head")
            data += chunk

    def keep(self, origin: Origin, answer: Answer) -> None:
        """Offer the connection for reuse: only after a response that has no body."""
        if answer.keep_alive and not answer.rest:
            self._idle.setdefault(origin, []).append((answer.stream, time.monotonic()))
        else:
            self._drop(answer.stream)

    def close_idle(self, host: str) -> None:
        """Close the idle connections to `host` (any scheme and port): a checker that lets a
        host go keeps no sockets open to it for the rest of its run (a thousand hosts
        would otherwise hold two thousand descriptors until the run ends)."""
        for origin in [origin for origin in self._idle if origin[1] == host]:
            for stream, _ in self._idle.pop(origin):
                self._drop(stream)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for streams in idle.values():
            for stream, _ in streams:
                await self.close(stream)

    async def close(self, stream: httpcore.AsyncNetworkStream) -> None:
        try:
            await stream.aclose()
        except Exception:  # noqa: BLE001 - closing a connection a hostile server broke
            self._drop(stream)

    async def body(self, answer: Answer, limit: int, deadline: float | None = None) -> bytes:
        """Up to `limit` bytes of the body (chunked or not), then the connection is closed."""
        try:
            raw = await self._read(answer, limit, deadline)
        finally:
            await self.close(answer.stream)
        return raw

    async def _read(self, answer: Answer, limit: int, deadline: float | None) -> bytes:
        chunked = b"chunked" in (answer.header(b"transfer-encoding") or "").lower().encode()
        declared = answer.header(b"content-length")
        want = limit
        if not chunked and declared is not None and declared.strip().isdigit():
            want = min(limit, int(declared.strip()))
        data = bytearray(answer.rest)
        target = limit * 2 + 1024 if chunked else want  # chunk framing needs a little more
        while len(data) < target:
            chunk = await answer.stream.read(65536, self._limit(deadline))
            if not chunk:
                break
            data += chunk
            if chunked and _dechunk(bytes(data), limit)[1]:
                break
        if chunked:
            return _dechunk(bytes(data), limit)[0]
        return bytes(data[:want])


def _dechunk(data: bytes, limit: int) -> tuple[bytes, bool]:
    """The payload of chunked `data` (up to `limit` bytes) and whether that is all we need
    (the limit reached or the last chunk seen)."""
    out = bytearray()
    at = 0
    while len(out) < limit:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return bytes(out), False
        size_text = data[at:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(out), True  # not chunked after all: what we have is all we judge
        if size == 0:
            return bytes(out), True
        start = line_end + 2
        piece = data[start:start + size]
        out += piece
        if len(piece) < size:
            return bytes(out[:limit]), len(out) >= limit
        at = start + size + 2
    return bytes(out[:limit]), True
