"""An httpcore network backend on plain asyncio streams, for the link checker.

httpcore's default backend goes through anyio: every read and write enters a
cancel scope, checks the current task, and maps exceptions through several
layers; profiled over a 10,000-URL run that was about a fifth of the
checker's CPU. The checker only ever runs on asyncio, so its connections use
asyncio's streams directly, with `asyncio.timeout` for each operation. The
contract is httpcore's: the same exception types for the same failures
(ConnectError/ConnectTimeout, ReadError/ReadTimeout, WriteError/WriteTimeout),
raised from the socket error so the checker's reasons still carry the
operating system's words ("connection reset by peer").
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
from collections.abc import Iterable
from typing import Any

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


class AsyncioStream(AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("timed out") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            if not self._writer.transport.get_write_buffer_size():
                return  # all of it went to the socket: nothing to wait for, no timer
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: written after the close
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        # Not waiting for the peer's goodbye: a hostile server could make that last forever.
        with contextlib.suppress(Exception):
            self._writer.transport.abort()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            # asyncio reads ahead into the stream's buffer: an EOF or stray bytes the
            # protocol already took count as readable, as they would on the raw socket.
            if self._reader.at_eof() or self._reader.exception() is not None:
                return True
            if getattr(self._reader, "_buffer", b""):
                return True
            sock = self._writer.get_extra_info("socket")
            return sock is None or _readable(sock)
        return None


class AsyncioBackend(AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[SOCKET_OPTION] | None = None,
                          ) -> AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None)
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[SOCKET_OPTION] | None = None,
                                  ) -> AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the link checker")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

