"""An httpcore network backend on plain asyncio, for the link checker.

httpcore's default backend goes through anyio: every read and write enters a
cancel scope, checks the current task, and maps exceptions through several
layers; profiled over a 10,000-URL run that was about a fifth of the
checker's CPU. The checker only ever runs on asyncio, so its connections are
asyncio transports with a small protocol of their own (`_Connection`: a
buffer, a waiting read, a paused write), and a read that must wait arms one
timer of its own. The contract is httpcore's: the same exception types for
the same failures (ConnectError/ConnectTimeout, ReadError/ReadTimeout,
WriteError/WriteTimeout), raised from the socket error so the checker's
reasons still carry the operating system's words ("connection reset by
peer").
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
import weakref
from collections.abc import Iterable
from typing import Any, cast

import httpcore
from httpcore import AsyncNetworkBackend, AsyncNetworkStream

SOCKET_OPTION = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


def _readable(sock: Any) -> bool:
    """Whether an idle socket has something to read (the peer closed it, or sent data).

    poll, not select: select() refuses descriptors past FD_SETSIZE (1024) with a
    ValueError, which read as "readable", so once a run had a thousand connections
    open every idle one was thrown away and a new one made for the next request."""
    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed already: as good as readable (httpcore drops it)
        return True


_READ_LIMIT = 256 * 1024  # bytes buffered before the socket is no longer read from


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


# How often the waiting reads of a loop are looked at for their timeouts: a read times out
# between its timeout and this much later.
DEADLINE_TICK = 0.1


class _ReadDeadlines:
    """The timeouts of one event loop's waiting reads, looked at every DEADLINE_TICK.

    A timer per read (call_later, then cancel when the answer came, nearly always)
    was about a tenth of the checker's event-loop time at concurrency 400: a handle
    and a heap entry each, and asyncio's heap kept full of cancelled ones. Here a
    read that waits is a dictionary entry, and one timer per tick serves them all;
    link-check timeouts are seconds, so a tenth of a second late does not matter."""

    def __init__(self) -> None:
        # No reference to the loop: this is the value of a weak mapping keyed by it.
        self.waiting: dict[asyncio.Future[None], float] = {}
        self.ticking = False

    def add(self, waiter: asyncio.Future[None], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self.waiting[waiter] = loop.time() + timeout
        if not self.ticking:
            self.ticking = True
            loop.call_later(DEADLINE_TICK, self._tick)

    def discard(self, waiter: asyncio.Future[None]) -> None:
        self.waiting.pop(waiter, None)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for waiter in [w for w, deadline in self.waiting.items() if deadline <= now]:
            del self.waiting[waiter]
            _expire(waiter)
        if self.waiting:
            loop.call_later(DEADLINE_TICK, self._tick)
        else:
            self.ticking = False


_deadlines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _ReadDeadlines] = \
    weakref.WeakKeyDictionary()


def _deadlines_of(loop: asyncio.AbstractEventLoop) -> _ReadDeadlines:
    deadlines = _deadlines.get(loop)
    if deadlines is None:
        deadlines = _deadlines[loop] = _ReadDeadlines()
    return deadlines


class _Connection(asyncio.Protocol):
    """What arrived on one connection, and who waits for more: asyncio's StreamReader and
    StreamWriter, less what the checker never uses (a read is bytes, whatever came)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None  # a read waiting for data
        self.paused = False  # writing paused: the socket's send buffer is full
        self.drained: asyncio.Future[None] | None = None  # a write waiting for room

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream connection's

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_LIMIT and self.transport is not None:
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # no half-open connections: the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self.resume_writing()  # a write waiting for room learns of the loss

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    async def room(self) -> None:
        """Until the transport takes writes again (or the connection is lost)."""
        while self.paused:
            self.drained = asyncio.get_running_loop().create_future()
            await self.drained

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class AsyncioStream(AsyncNetworkStream):
    """A connection for httpcore's interface, on an asyncio protocol of its own.

    A read that must wait is failed by its loop's `_ReadDeadlines` when its time is up;
    through StreamReader and asyncio.timeout it was a Timeout object, a task
    cancellation and its undoing, and several futures per read: a tenth of the
    checker's CPU."""

    def __init__(self, transport: asyncio.Transport, connection: _Connection) -> None:
        self._transport = transport
        self._connection = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        if not connection.buffer and not connection.eof:
            loop = asyncio.get_running_loop()
            waiter = connection.waiter = loop.create_future()
            deadlines = None
            if timeout is not None:
                deadlines = _deadlines_of(loop)
                deadlines.add(waiter, timeout)
            try:
                await waiter
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out") from None
            finally:
                connection.waiter = None
                if deadlines is not None:
                    deadlines.discard(waiter)
        if connection.buffer:
            data = bytes(connection.buffer[:max_bytes])
            del connection.buffer[:max_bytes]
            if len(connection.buffer) <= _READ_LIMIT and not connection.eof:
                self._transport.resume_reading()
            return data
        if connection.error is not None:
            raise httpcore.ReadError(str(connection.error)) from connection.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        connection = self._connection
        try:
            if connection.eof or self._transport.is_closing():
                raise ConnectionResetError("the connection was closed")
            self._transport.write(buffer)
            if not connection.paused:
                return  # taken by the socket or below the high-water mark: no timer
            async with asyncio.timeout(timeout):
                await connection.room()
            if connection.error is not None:
                raise connection.error
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: written after the close
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        # Not waiting for the peer's goodbye: a hostile server could make that last forever.
        self.abort()

    def abort(self) -> None:
        """Close at once (what aclose does), without a coroutine."""
        with contextlib.suppress(Exception):
            self._transport.abort()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(self._transport, self._connection, ssl_context,
                                                 server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # what asyncio's own start_tls says of a closed connection
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._transport = transport
        self._connection.transport = transport
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":
            return self.readable()
        return None

    def readable(self, *, ask_socket: bool = True) -> bool:
        """Whether this idle connection has something to read: an EOF or stray bytes its
        protocol took already (it reads ahead into its buffer), or, when `ask_socket`,
        what the socket holds that the loop has not read yet (a poll)."""
        connection = self._connection
        if connection.eof or connection.buffer or connection.error is not None:
            return True
        if not ask_socket:
            return False
        sock = self._transport.get_extra_info("socket")
        return sock is None or _readable(sock)


class AsyncioBackend(AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[SOCKET_OPTION] | None = None,
                          ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_connection(
                    _Connection, host, port,
                    local_addr=(local_address, 0) if local_address else None)
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(transport, connection)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[SOCKET_OPTION] | None = None,
                                  ) -> AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the link checker")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

