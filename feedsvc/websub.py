"""WebSub publisher pings: a durable queue in the store, sent by a job of their own.

A hub only needs to hear "this feed changed" (`hub.mode=publish&hub.url=<feed>`)
for subscription feeds whose bytes changed (archives and pages are not
subscribed to); it then fetches the feed itself. So:

* the build queues one row per changed feed **in its publish transaction**
  (`enqueue`): a published change always has its ping queued, a rolled-back
  one never has, and a crash between publish and ping loses nothing;
* a feed that changes again before its ping went out keeps one row (the
  newest generation): repeats coalesce into one ping;
* the clock's `websub` job (never the build) claims what is due, under the
  lease's fence, and sends it in parallel within a bounded total time
  (`FEEDSVC_WEBSUB_BUDGET`); a failure is retried later with exponential
  backoff (`FEEDSVC_WEBSUB_RETRY_SECONDS`, doubling up to an hour), never
  dropped. A hub that never answers, fails or resets costs that job its
  budget and delays no build.

`Store.websub_backlog()` reports the queue for /metrics and /status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from feedsvc import __version__
from feedsvc.logs import log_event
from feedsvc.models import utcnow
from feedsvc.render.formats import format_names
from feedsvc.store import Fence, Ping, Store, Transaction, queue_pings
from feedsvc.urls import Urls

# httpx is imported where pings are sent: builds only queue them, and importing it
# cost every `feedsvc build` about half a second.
if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 3600.0
CLAIM_LIMIT = 5000  # every subscription feed of the largest site fits in one run


def feeds_to_ping(changed_paths: Iterable[str]) -> list[str]:
    """Subscription feed paths among the changed documents (no archives, no pages)."""
    return sorted(path for path in changed_paths
                  if path.startswith("feeds/") and path.count("/") == 1
                  and path.rsplit(".", 1)[-1] in format_names())


def backoff_s(attempts: int, base: float) -> float:
    """Seconds before the next try after `attempts` failures: base, 2 base, 4 base... up
    to an hour (a hub that is down for a day is tried about once an hour)."""
    return float(min(MAX_BACKOFF_S, base * 2 ** max(0, attempts - 1)))


def enqueue(conn: Transaction, hub: str, urls: Urls, generation: int,
            changed_paths: Iterable[str], now: datetime) -> int:
    """Queue a ping for every changed subscription feed, inside the publish transaction;
    return how many (feedsvc.store.websub.queue_pings)."""
    return queue_pings(conn, hub, [urls.absolute(path) for path in feeds_to_ping(changed_paths)],
                       generation, now)


@dataclass
class SendReport:
    """What one send run did: pings the hub accepted, pings that failed (retried later)."""

    sent: int = 0
    failed: int = 0
    duration_s: float = 0.0
    errors: list[str] = field(default_factory=list)


async def _send_all(pings: list[Ping], *, budget: float, concurrency: int, timeout: float,
                    user_agent: str) -> list[tuple[Ping, str | None]]:
    outcome: dict[int, str | None] = {}
    gate = asyncio.Semaphore(concurrency)
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def one(index: int, ping: Ping, client: httpx.AsyncClient) -> None:
        async with gate:
            try:
                response = await client.post(ping.hub, data={"hub.mode": "publish",
                                                             "hub.url": ping.feed})
                outcome[index] = None if response.status_code < 300 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                outcome[index] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    async with httpx.AsyncClient(timeout=timeout, trust_env=False, limits=limits,
                                 headers={"User-Agent": user_agent}) as client:
        tasks = [asyncio.create_task(one(i, p, client)) for i, p in enumerate(pings)]
        try:
            async with asyncio.timeout(budget):
                await asyncio.gather(*tasks)
        except TimeoutError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return [(p, outcome.get(i, f"not answered within the run's budget of {budget:g}s"))
            for i, p in enumerate(pings)]


def send_due(store: Store, base_url: str, *, budget: float, concurrency: int, retry_base: float,
             fence: Fence | None = None, now: datetime | None = None) -> SendReport:
    """One send run: claim what is due, ping in parallel within `budget` seconds in
    total (each request gets at most 10 s), record the outcomes. Raises LeaseLost
    before sending anything when the fence's lease is gone."""
    started = time.perf_counter()
    timeout = min(10.0, budget)
    pings = store.claim_pings(now or utcnow(), budget + timeout + 5, fence, CLAIM_LIMIT)
    report = SendReport()
    if not pings:
        return report
    agent = f"feedsvc/{__version__} (+{Urls(base_url).absolute('/')})"
    results = asyncio.run(_send_all(pings, budget=budget, concurrency=concurrency,
                                    timeout=timeout, user_agent=agent))
    store.settle_pings(results, utcnow(), lambda attempts: backoff_s(attempts, retry_base))
    for ping, error in results:
        if error is None:
            report.sent += 1
        else:
            report.failed += 1
            if len(report.errors) < 5:
                report.errors.append(f"{ping.feed}: {error}")
            log_event(log, "websub_ping_failed", logging.WARNING, hub=ping.hub, feed=ping.feed,
                      attempts=ping.attempts + 1, reason=error[:300])
    report.duration_s = round(time.perf_counter() - started, 3)
    return report
