"""Operations: metrics, feed polls, rate limits, health and status.

`init_app(app)` wires them (each part reads its own settings) and leaves a
`RequestOps` in `app.extensions`: the plain functions that must run for every
request whoever answers it, Flask's hooks or the WSGI table in front of
Flask, which calls them itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask

from feedsvc.web.ops import metrics, polls, ratelimit, status
from feedsvc.web.ops.counting import COUNTS, FLUSHER
from feedsvc.web.ops.polls import PollCounter
from feedsvc.web.ops.ratelimit import RequestLimit


@dataclass(frozen=True, slots=True)
class RequestOps:
    """What happens around every answered request: rate limit before, counting after."""

    polls: PollCounter
    limit: RequestLimit | None

    def answered(self, environ: Mapping[str, Any], route: str, status: int, started: float,
                 poll_path: str | None) -> None:
        """Count a request the caller answered: its route, status and latency, and the
        feed poll it made (`poll_path`: the subscription feed fetched, if any)."""
        COUNTS.record(route, status, time.perf_counter() - started)
        if poll_path is not None and (status == 200 or status == 304):
            self.polls.note(poll_path, status, environ)
        FLUSHER.ensure_running()


def init_app(app: Flask) -> RequestOps:
    metrics.init_app(app)
    limit = ratelimit.init_app(app)
    counter = polls.init_app(app)
    status.init_app(app)
    ops = RequestOps(counter, limit)
    app.extensions["feedsvc_ops"] = ops
    return ops


def ops_of(app: Flask) -> RequestOps:
    ops: RequestOps = app.extensions["feedsvc_ops"]
    return ops


__all__ = ["RequestOps", "init_app", "ops_of"]
