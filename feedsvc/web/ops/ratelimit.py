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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request

from feedsvc.errors import StoreUnavailable
from feedsvc.store.hotpath import hot_path_engine
from feedsvc.store.ratebuckets import NOT_MODIFIED_COST, StoreRateLimiter
from feedsvc.web.error_pages import json_error

EXEMPT = ("/healthz", "/healthz/store", "/readyz", "/metrics")


def client_address(environ: Mapping[str, Any], trusted_hops: int) -> str:
    """The client's address: the peer, or the one the `trusted_hops` proxies saw."""
    return address_from(environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"),
                        trusted_hops)


def address_from(peer: object, forwarded: object, trusted_hops: int) -> str:
    """`client_address` from the two header values themselves (REMOTE_ADDR and
    X-Forwarded-For as the environ held them), for a caller that kept only those."""
    if trusted_hops > 0:
        values = [value.strip() for value in str(forwarded or "").split(",") if value.strip()]
        if len(values) >= trusted_hops:
            return values[-trusted_hops][:64]
    return str(peer or "unknown")[:64]


def is_conditional(environ: Mapping[str, Any]) -> bool:
    return bool(environ.get("HTTP_IF_NONE_MATCH") or environ.get("HTTP_IF_MODIFIED_SINCE"))


def cost_of(environ: Mapping[str, Any]) -> float:
    """What a request is charged up front: a conditional request is expected to be a 304."""
    return NOT_MODIFIED_COST if is_conditional(environ) else 1.0


def actual_cost(status: int) -> float:
    return NOT_MODIFIED_COST if status == 304 else 1.0


@dataclass(frozen=True, slots=True)
class Charge:
    """What a request was charged up front, to be corrected once its status is known."""

    key: str
    cost: float


# Set in the WSGI environ by a layer in front of Flask that already asked the limiter, so
# Flask neither charges twice nor asks again: a Charge, or the seconds a refused client waits.
ENVIRON_CHARGE = "feedsvc.rate_charge"
ENVIRON_WAIT = "feedsvc.rate_wait"


class RequestLimit:
    """The rate limit as any WSGI layer applies it: `check` before answering, `settle` after."""

    def __init__(self, limiter: StoreRateLimiter, trusted_hops: int) -> None:
        self.limiter = limiter
        self.trusted_hops = trusted_hops

    def check(self, environ: Mapping[str, Any]) -> tuple[Charge | None, float]:
        """(the charge, 0) when the request may go on; (None, seconds) when it must wait.
        A store that cannot answer lets the request through, uncharged, and is counted."""
        from feedsvc.web.ops.instruments import RATE_LIMIT_ERRORS, RATE_LIMITED

        charge = Charge(client_address(environ, self.trusted_hops), cost_of(environ))
        try:
            wait = self.limiter.admit(charge.key, charge.cost)
        except StoreUnavailable:
            RATE_LIMIT_ERRORS.inc()
            return None, 0.0
        if wait > 0:
            RATE_LIMITED.inc()
            return None, wait
        return charge, 0.0

    def settle(self, charge: Charge, status: int) -> None:
        extra = actual_cost(status) - charge.cost
        if extra:
            with contextlib.suppress(StoreUnavailable):
                self.limiter.adjust(charge.key, extra)


def too_many_requests(wait: float) -> Response:
    response = json_error(429, "too many requests",
                          "slow down; use If-None-Match or If-Modified-Since to poll cheaply")
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def init_app(app: Flask) -> RequestLimit | None:
    """Rate limiting as FEEDSVC_RATE_LIMIT / _BURST / FEEDSVC_TRUST_PROXY say (off at 0)."""
    web = app.extensions["feedsvc"]
    settings = web.settings
    if settings.rate_limit <= 0:
        return None
    limit = RequestLimit(StoreRateLimiter(hot_path_engine(web.store), settings.rate_limit,
                                          settings.rate_limit_burst),
                         int(settings.trust_proxy))
    app.extensions["feedsvc_rate_limiter"] = limit

    @app.before_request
    def _check() -> Response | None:
        environ = request.environ
        if request.path in EXEMPT:
            return None
        charge, wait = environ.get(ENVIRON_CHARGE), environ.get(ENVIRON_WAIT, 0.0)
        if charge is None and not wait:
            charge, wait = limit.check(environ)
        if wait > 0:
            return too_many_requests(wait)
        g.rate_charge = charge
        return None

    @app.after_request
    def _settle(response: Response) -> Response:
        charge = g.get("rate_charge")
        if charge is not None:
            limit.settle(charge, response.status_code)
        return response

    return limit
