"""Counting requests at the cost of one append, added up and published on a timer.

A prometheus-client counter or histogram in multiprocess mode writes a
memory-mapped file on every `inc()`/`observe()`, under a lock: two of those
per request took the fast path from 0.47 to 0.36 of nginx, and even locked
dictionary updates per request and per poll made a 304 from the table take
9 µs in-process, against 4 µs with appends. Here a request appends one tuple to a deque
(`RequestCounts.record`: a deque's append is atomic, so no lock is taken
while answering); a daemon thread per worker process (`Flusher`) adds them up
into per-route integers and a small histogram array and moves those into the
prometheus-client instruments every FLUSH_SECONDS, and writes the feed polls
noted in memory to the store when they are due; both are flushed once more at
exit. A scrape adds up every
worker's files as before (one scrape, every worker), and flushes its own
worker first, so an idle server's /metrics is never behind.

The flusher is the web process's only thread of its own: it starts at the
first request a worker answers (never in `create_app`, never before a
server forks) and again in a forked child, which does not inherit threads.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import weakref
from bisect import bisect_left
from collections import deque
from typing import Protocol

from feedsvc.errors import StoreUnavailable
from feedsvc.web.ops.instruments import HTTP_LATENCY, HTTP_REQUESTS, LATENCY_BUCKETS

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
# Requests noted between two flushes, at most: a second's worth at many times any
# rate measured here. Beyond it (a flusher starved for minutes) the oldest are dropped.
MAX_NOTED = 1_000_000


class RequestCounts:
    """This worker's answered requests, not yet handed to prometheus-client."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self._noted: deque[tuple[str, int, float]] = deque(maxlen=MAX_NOTED)
        self._lock = threading.Lock()  # one taker at a time (timer and scrape)

    def record(self, route: str, status: int, seconds: float) -> None:
        """Note one answered request (any WSGI layer, any thread, may call this)."""
        self._noted.append((route, status, seconds))

    def take(self) -> tuple[dict[tuple[str, int], int], dict[str, list[float]]]:
        """What was noted since the last take, added up: counts by (route, status), and per
        route a histogram (a count per bucket and +Inf, then the sum of seconds)."""
        counts: dict[tuple[str, int], int] = {}
        latency: dict[str, list[float]] = {}
        bounds, noted, width = self.bounds, self._noted, len(self.bounds) + 2
        with self._lock:
            for _ in range(len(noted)):  # what later requests append waits for the next take
                route, status, seconds = noted.popleft()
                key = (route, status)
                counts[key] = counts.get(key, 0) + 1
                slots = latency.get(route)
                if slots is None:
                    slots = latency[route] = [0.0] * width
                slots[bisect_left(bounds, seconds)] += 1
                slots[-1] += seconds
        return counts, latency

    def flush(self) -> None:
        """Add what was counted to the prometheus-client instruments (files, in
        multiprocess mode). Histogram buckets are added to directly: prometheus-client
        has no call for "n observations at once", and its buckets are per-bucket
        counts it makes cumulative when collected."""
        counts, latency = self.take()
        for (route, status), n in counts.items():
            HTTP_REQUESTS.labels(route, str(status)).inc(n)
        for route, slots in latency.items():
            child = HTTP_LATENCY.labels(route)
            for position, observed in enumerate(slots[:-1]):
                if observed:
                    child._buckets[position].inc(observed)
            child._sum.inc(slots[-1])


COUNTS = RequestCounts()  # one per process, like the instruments it feeds


class Flushable(Protocol):
    """Something the flusher writes out: `flush_due` on the timer, `flush_now` at exit."""

    def flush_due(self) -> None: ...

    def flush_now(self) -> None: ...


class Flusher:
    """The per-process timer that publishes counts and writes buffered polls."""

    def __init__(self, interval: float = FLUSH_SECONDS) -> None:
        self.interval = interval
        self.jobs: weakref.WeakSet[Flushable] = weakref.WeakSet()
        self.running = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        atexit.register(self.flush)
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """A forked worker has no thread of its parent's: start its own at its first request."""
        self.running = False
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running yet (one attribute read
        when it is)."""
        if self.running:
            return
        with self._lock:
            if not self.running:
                threading.Thread(target=self._run, name="feedsvc-flush", daemon=True).start()
                self.running = True

    def _run(self) -> None:
        while not self._wake.wait(self.interval):
            self.flush(due_only=True)

    def flush(self, *, due_only: bool = False) -> None:
        """Publish the counts and write polls (only those due, on the timer)."""
        try:
            COUNTS.flush()
        except Exception:
            log.exception("could not publish request counts")
        for job in list(self.jobs):
            with contextlib.suppress(StoreUnavailable):
                job.flush_due() if due_only else job.flush_now()


FLUSHER = Flusher()
