"""Optional per-client rate limiting that rewards well-behaved pollers.

A token bucket per client (its address, or the first X-Forwarded-For hop
when FEEDSVC_TRUST_PROXY is on). A full response costs one token; a 304 Not
Modified costs a tenth, so a reader that revalidates can poll ten times as
often as one that downloads the feed every time. An empty bucket gets 429
with `Retry-After`. Off by default (FEEDSVC_RATE_LIMIT=0): behind a CDN the
CDN does this better. Buckets live in the process, bounded in number.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Flask, Response, g, request

from feedsvc.web.errors import json_error

NOT_MODIFIED_COST = 0.1
EXEMPT = ("/healthz", "/readyz", "/metrics")


class RateLimiter:
    def __init__(self, per_minute: float, burst: float, *, max_clients: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def wait_time(self, key: str) -> float:
        """Seconds to wait before this client may make a request (0: go ahead)."""
        with self._lock:
            tokens = self._tokens(key, self.clock())
            # Enough for at least a revalidation: a poller low on tokens may still ask for 304s.
            return 0.0 if tokens >= NOT_MODIFIED_COST else (NOT_MODIFIED_COST - tokens) / self.rate

    def charge(self, key: str, cost: float) -> None:
        with self._lock:
            now = self.clock()
            self._buckets[key] = (self._tokens(key, now) - cost, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


def client_key(trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    return request.remote_addr or "unknown"


def init_app(app: Flask, per_minute: float, burst: float, trust_proxy: bool) -> None:
    if per_minute <= 0:
        return
    limiter = RateLimiter(per_minute, burst)
    app.extensions["feedsvc_rate_limiter"] = limiter

    @app.before_request
    def _check() -> Response | None:
        if request.path in EXEMPT:
            return None
        key = g.rate_key = client_key(trust_proxy)
        wait = limiter.wait_time(key)
        if wait > 0:
            g.rate_limited = True
            response = json_error(429, "too many requests",
                                  "slow down; use If-None-Match or If-Modified-Since to poll cheaply")
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        return None

    @app.after_request
    def _charge(response: Response) -> Response:
        key = g.get("rate_key")
        if key is not None and not g.get("rate_limited"):
            limiter.charge(key, NOT_MODIFIED_COST if response.status_code == 304 else 1.0)
        return response
