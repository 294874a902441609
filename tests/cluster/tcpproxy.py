"""A TCP relay on loopback, run as a process of its own so that a test can SIGSTOP it.

Stopped, it relays nothing and closes nothing: every connection through it goes
silent in both directions without a FIN or a reset, as when a machine vanishes or
a network starts dropping its packets. The server still sees an open connection
whose client says nothing; the client still sees one whose server never answers.

Usage: python -m tests.cluster.tcpproxy TARGET_HOST TARGET_PORT; prints the port it
listens on (on 127.0.0.1), then relays until it is killed.
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _main(host: str, port: int) -> None:
    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], int(sys.argv[2])))
