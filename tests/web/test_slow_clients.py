"""Slow clients cannot starve the others: thousands of half-sent requests from one
address, held open against `feedsvc web --workers 2`, while normal feed requests are
still answered at once (real granian, real sockets, loopback)."""

from __future__ import annotations

import contextlib
import socket
import time
from urllib.parse import urlsplit

import httpx

from tests.web.test_workers_share_state import two_workers  # noqa: F401 - a fixture

HALF_REQUESTS = 3000  # more than granian's default backpressure lets two workers hold (2 x 1024)
CEILING = 5.0         # generous: answered within a second here; 30 s without the fix


def open_half_requests(host: str, port: int, count: int) -> list[socket.socket]:
    """Connections that send a request line and one header, and never finish."""
    held = []
    for _ in range(count):
        conn = socket.create_connection((host, port), timeout=10)
        conn.sendall(b"GET /feeds/all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        held.append(conn)
    return held


def test_half_sent_requests_do_not_starve_normal_ones(two_workers):  # noqa: F811
    base, _ = two_workers()
    parts = urlsplit(base)
    held = open_half_requests(parts.hostname or "127.0.0.1", parts.port or 80, HALF_REQUESTS)
    try:
        slowest = 0.0
        for _ in range(20):  # a new connection each time, as a reader's poll makes
            started = time.monotonic()
            with httpx.Client(base_url=base, trust_env=False, timeout=CEILING + 5) as http:
                assert http.get("/feeds/all.rss").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < CEILING, f"a normal request waited {slowest:.1f} s behind slow clients"
    finally:
        for conn in held:
            with contextlib.suppress(OSError):
                conn.close()
