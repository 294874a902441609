"""A WebSub hub on loopback that misbehaves on demand, recording every ping it accepts.

Modes (switchable while it runs, as a real hub's health changes): `ok` answers
204, `fail` answers 500, `reset` resets the connection, `never` reads the
request and never answers. The body is read in full, so a kept-alive
connection stays in step.
"""

from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import parse_qs

from tests.links.servers import reset, respond


class Hub:
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.pings: list[tuple[float, str]] = []  # (monotonic time, hub.url), accepted only
        self.attempts = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", 0), self._loop).result(5)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hub"

    def feeds(self) -> list[str]:
        return [feed for _, feed in self.pings]

    def close(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                if not line.strip():
                    continue
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                form = parse_qs(body.decode())
                self.attempts += 1
                mode = self.mode
                if mode == "never":
                    await asyncio.sleep(3600)
                elif mode == "reset":
                    reset(writer)
                    return
                elif mode == "fail":
                    await respond(writer, 500, body=b"hub trouble")
                else:
                    assert form["hub.mode"] == ["publish"], form
                    self.pings.append((time.monotonic(), form["hub.url"][0]))
                    await respond(writer, 204)
        except (ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
