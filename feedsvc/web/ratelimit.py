"""Optional per-client rate limiting that rewards well-behaved pollers, counted in the store.

A token bucket per client. A full response costs one token; a 304 Not
Modified costs a tenth, so a reader that revalidates can poll ten times as
often as one that downloads the feed every time. An empty bucket gets 429
with `Retry-After`. Off by default (FEEDSVC_RATE_LIMIT=0): behind a CDN the
CDN does this better.

The buckets live in the store (`rate_buckets`), so every worker process and
every machine draws on the same bucket: one atomic upsert per request refills,
decides and charges in a single statement, so two workers can never both
spend the last token. The cost is charged up front (a tenth for a conditional
request, else one) and corrected after the response only when it turns out
different (a conditional request that got a full 200). When the store cannot
answer in time (down, or a SQLite build holding the write lock) the request
is let through and counted in `feedsvc_rate_limit_store_errors_total`:
serving feeds matters more than limiting them.

The client is the peer address, or with FEEDSVC_TRUST_PROXY = N the address
the N trusted proxies saw: the N-th `X-Forwarded-For` entry from the right,
as werkzeug's ProxyFix takes it (entries further left are whatever the client
chose to send). These are plain functions over a WSGI environ, so any WSGI
layer in front of Flask can use them.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy import case, delete, update
from sqlalchemy.engine import Engine, make_url

from feedsvc.errors import StoreUnavailable
from feedsvc.store import Store, dialect_insert, engine_for, rate_buckets
from feedsvc.web.errors import json_error

NOT_MODIFIED_COST = 0.1
EXEMPT = ("/healthz", "/healthz/store", "/readyz", "/metrics")
HOT_PATH_TIMEOUT = 0.25  # seconds a request may wait for SQLite's write lock before giving up
PRUNE_EVERY = 60.0

_hot_engines: dict[int, Engine] = {}


def hot_path_engine(store: Store) -> Engine:
    """The engine for writes made while answering a request (rate buckets, polls).

    PostgreSQL locks rows, so the store's own engine is right. SQLite has one
    writer at a time and a build holds that lock while it publishes, so these
    writes get their own engine with a short busy timeout: they fail fast
    (and the caller carries on) instead of stalling the request."""
    if make_url(store.url).get_backend_name() != "sqlite":
        return store.engine
    from feedsvc.web.storefile import sqlite_file

    path = sqlite_file(store.url)
    if path is None:  # in memory: one connection's database, nothing to share
        return store.engine
    engine = _hot_engines.get(id(store))
    if engine is None:
        # mode=rw: never create the file. If it was deleted under the web, a write here
        # must fail, not put an empty store in its place (feedsvc.web.storefile).
        engine = _hot_engines[id(store)] = engine_for(
            f"sqlite:///file:{path.resolve()}?mode=rw&uri=true", HOT_PATH_TIMEOUT)
    return engine


def client_address(environ: Mapping[str, Any], trusted_hops: int) -> str:
    """The client's address: the peer, or the one the `trusted_hops` proxies saw."""
    if trusted_hops > 0:
        forwarded = str(environ.get("HTTP_X_FORWARDED_FOR", ""))
        values = [value.strip() for value in forwarded.split(",") if value.strip()]
        if len(values) >= trusted_hops:
            return values[-trusted_hops][:64]
    return str(environ.get("REMOTE_ADDR") or "unknown")[:64]


def is_conditional(environ: Mapping[str, Any]) -> bool:
    return bool(environ.get("HTTP_IF_NONE_MATCH") or environ.get("HTTP_IF_MODIFIED_SINCE"))


class StoreRateLimiter:
    """Token buckets in the store, shared by every process that uses it."""

    def __init__(self, store: Store, per_minute: float, burst: float, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = hot_path_engine(store)
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._last_prune = float("-inf")

    def admit(self, key: str, cost: float) -> float:
        """Charge `cost` if the client may make a request now; return 0 when it may, else
        the seconds to wait. One statement: refill, decide and charge at once."""
        now = self.clock()
        table = rate_buckets
        refilled = table.c.tokens + (now - table.c.updated) * self.rate
        refill = case((refilled > self.burst, self.burst), else_=refilled)
        values = dialect_insert(self.engine.dialect.name, table).values(
            key=key, tokens=self.burst - cost, updated=now, allowed=True)
        statement = values.on_conflict_do_update(index_elements=[table.c.key], set_={
            # A client low on tokens may still ask for 304s: a tenth is enough to be let in.
            "tokens": case((refill >= NOT_MODIFIED_COST, refill - cost), else_=refill),
            "allowed": refill >= NOT_MODIFIED_COST,
            "updated": now,
        }).returning(table.c.tokens, table.c.allowed)
        with self.engine.begin() as conn:
            tokens, allowed = conn.execute(statement).one()
            if now - self._last_prune > PRUNE_EVERY:
                self._last_prune = now
                # A bucket idle long enough to be full again is the same as no bucket.
                full_after = self.burst / self.rate if self.rate > 0 else 86400.0
                conn.execute(delete(table).where(table.c.updated < now - full_after))
        if allowed:
            return 0.0
        return max(0.001, (NOT_MODIFIED_COST - float(tokens)) / self.rate)

    def adjust(self, key: str, extra: float) -> None:
        """Charge `extra` more (or refund, when negative) after the response."""
        table = rate_buckets
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.key == key).values(tokens=table.c.tokens - extra))


def cost_of(environ: Mapping[str, Any]) -> float:
    """What a request is charged up front: a conditional request is expected to be a 304."""
    return NOT_MODIFIED_COST if is_conditional(environ) else 1.0


def actual_cost(status: int) -> float:
    return NOT_MODIFIED_COST if status == 304 else 1.0


def init_app(app: Flask, store: Store, per_minute: float, burst: float, trusted_hops: int) -> None:
    if per_minute <= 0:
        return
    limiter = StoreRateLimiter(store, per_minute, burst)
    app.extensions["feedsvc_rate_limiter"] = limiter

    @app.before_request
    def _check() -> Response | None:
        if request.path in EXEMPT:
            return None
        from feedsvc.web.instruments import RATE_LIMIT_ERRORS, RATE_LIMITED

        key = client_address(request.environ, trusted_hops)
        cost = cost_of(request.environ)
        try:
            wait = limiter.admit(key, cost)
        except StoreUnavailable:
            RATE_LIMIT_ERRORS.inc()
            return None
        if wait > 0:
            RATE_LIMITED.inc()
            response = json_error(429, "too many requests",
                                  "slow down; use If-None-Match or If-Modified-Since to poll cheaply")
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        g.rate_key, g.rate_cost = key, cost
        return None

    @app.after_request
    def _settle(response: Response) -> Response:
        key = g.get("rate_key")
        if key is not None:
            extra = actual_cost(response.status_code) - g.get("rate_cost", 1.0)
            if extra:
                with contextlib.suppress(StoreUnavailable):
                    limiter.adjust(key, extra)
        return response
