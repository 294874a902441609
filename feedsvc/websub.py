"""WebSub publisher pings: tell the hub which feeds changed, and only those.

After a build, the clock POSTs `hub.mode=publish&hub.url=<feed>` for each
subscription feed whose bytes changed (archives and pages are not
subscribed to). Hubs then fetch the feed and push it to subscribers, so a
ping for an unchanged feed is waste for everyone; a ping that fails is
retried with backoff a few times and then logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import httpx

from feedsvc import __version__
from feedsvc.logs import log_event
from feedsvc.render.formats import format_names
from feedsvc.urls import Urls

log = logging.getLogger(__name__)


def feeds_to_ping(changed_paths: Iterable[str]) -> list[str]:
    """Subscription feed paths among the changed documents (no archives, no pages)."""
    return sorted(path for path in changed_paths
                  if path.startswith("feeds/") and path.count("/") == 1
                  and path.rsplit(".", 1)[-1] in format_names())


def ping_hub(hub: str, urls: Urls, changed_paths: Iterable[str], *, attempts: int = 3,
             backoff: float = 1.0, timeout: float = 10.0,
             sleep: Callable[[float], None] = time.sleep) -> tuple[int, int]:
    """Ping the hub for every changed feed; return (succeeded, failed)."""
    feeds = [urls.absolute(path) for path in feeds_to_ping(changed_paths)]
    ok = failed = 0
    if not feeds:
        return ok, failed
    headers = {"User-Agent": f"feedsvc/{__version__} (+{urls.absolute('/')})"}
    with httpx.Client(timeout=timeout, trust_env=False, headers=headers) as client:
        for feed in feeds:
            for attempt in range(attempts):
                try:
                    response = client.post(hub, data={"hub.mode": "publish", "hub.url": feed})
                    if response.status_code < 300:
                        ok += 1
                        break
                    reason = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                if attempt + 1 < attempts:
                    sleep(backoff * 2 ** attempt)
            else:
                failed += 1
                log_event(log, "websub_ping_failed", logging.WARNING, hub=hub, feed=feed, reason=reason)
    return ok, failed
