"""/metrics in the Prometheus text format: one scrape shows the whole system.

Two sources, one page:

* **this server's traffic** (requests by route and status, latency histograms
  by route, requests in flight, store query latency, rate-limit refusals):
  prometheus-client metrics. Under `feedsvc web` they run in multiprocess
  mode (`PROMETHEUS_MULTIPROC_DIR`, prepared by feedsvc.web.multiproc before
  the workers fork), so whichever worker answers the scrape adds up every
  worker's counts: no `pid` label, no counters jumping between scrapes.
  Multiprocess mode rather than a store-backed registry because a request
  must never wait on the database to count itself, and counting is per
  machine anyway (Prometheus adds up instances). Live gauges of workers that
  died are dropped at scrape time (`mark_process_dead`): granian has no
  child-exit hook; dead workers' counters stay, as counters must.
* **the cluster's state**, read from the store every web shares: builds by
  status (counters kept by the store), the last success and the last failure,
  each clock's leadership and its store latency, the link-check backlog and
  last run, WebSub pings, feed polls and subscriber estimates.

`record_request()` is a plain function so that any WSGI layer in front of
Flask can count what it answers; it costs one deque append
(feedsvc.web.ops.counting adds them up and publishes the counts on a timer, at exit and at
each scrape).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from feedsvc import opsstate
from feedsvc.errors import StoreUnavailable
from feedsvc.models import BuildStatus, utcnow
from feedsvc.store.hotpath import time_statements
from feedsvc.store.linkstore import LinkStore
from feedsvc.web.multiproc import ENV as MULTIPROC_ENV
from feedsvc.web.multiproc import running
from feedsvc.web.ops.counting import COUNTS, FLUSHER
from feedsvc.web.ops.instruments import (
    IN_FLIGHT,
    REGISTRY,
    STORE_LATENCY,
)
from feedsvc.web.state import WebState, state

bp = Blueprint("metrics", __name__)
BUILD_STATUSES = (*(str(s) for s in BuildStatus), opsstate.FAILED)


def record_request(route: str, status: int, seconds: float) -> None:
    """Count one answered request; callable from any WSGI layer (one append:
    feedsvc.web.ops.counting adds it up and publishes it to prometheus-client on a timer)."""
    COUNTS.record(route, status, seconds)
    FLUSHER.ensure_running()


def _start() -> None:
    g.metrics_started = time.perf_counter()
    IN_FLIGHT.inc()


def _count(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        IN_FLIGHT.dec()
        route = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        record_request(route, response.status_code, time.perf_counter() - started)
    return response


_DEAD_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def forget_dead_workers(directory: Path) -> list[int]:
    """Drop the live gauges of worker processes that no longer exist; return their pids."""
    dead = sorted({int(m[1]) for name in os.listdir(directory)
                   if (m := _DEAD_FILE.match(name)) and not running(int(m[1]))})
    for pid in dead:
        prometheus_multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    return dead


def process_metrics_text() -> str:
    """Every worker's metrics (multiprocess mode), or this process's; this worker's
    counts are published first, so a scrape is never behind its own worker."""
    COUNTS.flush()
    directory = os.environ.get(MULTIPROC_ENV)
    if directory and os.path.isdir(directory):
        forget_dead_workers(Path(directory))
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=directory)
        return generate_latest(registry).decode()
    return generate_latest(REGISTRY).decode()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str,
               samples: list[tuple[dict[str, str], float]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        suffix = "_total" if kind == "counter" else ""
        for labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            number = repr(float(value)) if isinstance(value, float) else str(int(value))
            full = name + suffix
            self.lines.append(f"{full}{{{text}}} {number}" if text else f"{full} {number}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _timestamp(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except (TypeError, ValueError):
        return None


def websub_backlog(web: WebState) -> dict[str, int] | None:
    """Hook for the durable WebSub queue: the store's `websub_backlog()` when it has one
    (`{"queued": n, "failing": n, ...}`), else None and nothing is shown."""
    backlog: Callable[[], dict[str, int]] | None = getattr(web.store, "websub_backlog", None)
    return backlog() if backlog is not None else None


def cluster_metrics(web: WebState, out: _Exposition) -> None:
    """Everything read from the store; raises StoreUnavailable when it does not answer."""
    store = web.store
    now = utcnow()
    found = opsstate.reports(store)
    counts = store.counters()
    report = found["last_report"]
    if report:
        out.metric("feedsvc_build_duration_seconds", "gauge", "Duration of the last build.",
                   [({}, report["duration_s"])])
        started = _timestamp(report["started_at"])
        if started is not None:
            out.metric("feedsvc_build_last_timestamp_seconds", "gauge", "When the last build started.",
                       [({}, started)])
        out.metric("feedsvc_build_status", "gauge", "Result of the last build (1 for its status).",
                   [({"status": s}, 1 if report["status"] == s else 0) for s in BUILD_STATUSES[:-1]])
        out.metric("feedsvc_articles", "gauge", "Articles in the last build.", [({}, report["articles"])])
        out.metric("feedsvc_topics", "gauge", "Topics in the last build.", [({}, report["topics"])])
        out.metric("feedsvc_content_problems", "gauge", "Content problems in the last build.",
                   [({"severity": "error"}, report["errors"]), ({"severity": "warning"}, report["warnings"])])
    out.metric("feedsvc_builds", "counter", "Builds by how they ended, over every clock ("
               "`failed`: the build raised, e.g. the store went away).",
               [({"status": s}, counts.get(f"builds:{s}", 0)) for s in BUILD_STATUSES])
    success = found["last_success_at"]
    success_at = _timestamp(success["at"]) if success else None
    if success_at is not None:
        out.metric("feedsvc_build_last_success_timestamp_seconds", "gauge",
                   "When the last build that published or found nothing to change started.",
                   [({}, success_at)])
    failure = found["last_failed_report"]
    failed_at = _timestamp(failure.get("started_at")) if failure else None
    if failure and failed_at is not None:
        out.metric("feedsvc_build_last_failure_timestamp_seconds", "gauge",
                   "When the last refused or failed build started, by its status.",
                   [({"status": str(failure["status"])}, failed_at)])
    _clock_metrics(web, out, counts, now)
    _link_metrics(web, out, counts, found["last_link_run"], now)
    out.metric("feedsvc_websub_pings", "counter", "WebSub hub pings that succeeded.",
               [({}, counts.get("websub_pings", 0))])
    out.metric("feedsvc_websub_failures", "counter", "WebSub hub pings given up after retries.",
               [({}, counts.get("websub_failures", 0))])
    backlog = websub_backlog(web)
    if backlog is not None:
        out.metric("feedsvc_websub_queue", "gauge", "WebSub pings waiting in the store, by state.",
                   [({"state": k}, v) for k, v in sorted(backlog.items())])
    from feedsvc.web.ops.polls import subscriber_estimates

    estimates = subscriber_estimates(store, now)
    out.metric("feedsvc_feed_polls_today", "gauge", "Fetches of each subscription feed today (UTC), "
               "304s included.", [({"feed": e.path}, e.today.polls) for e in estimates])
    out.metric("feedsvc_feed_subscribers", "gauge", "Estimated subscribers of each feed (the last "
               "whole day, or today so far): aggregators' stated counts plus distinct other clients.",
               [({"feed": e.path}, e.estimate) for e in estimates])


def _clock_metrics(web: WebState, out: _Exposition, counts: dict[str, int], now: datetime) -> None:
    """The clocks as the store's lease and clock rows say they are."""
    live = [c for c in web.store.clocks(now, web.settings.clock_lease_seconds) if c.live]
    out.metric("feedsvc_clocks", "gauge", "Clock processes seen in the last three lease periods.",
               [({}, len(live))])
    out.metric("feedsvc_clock_leader", "gauge", "1 for the clock that holds the lease (by the lease row: "
               "a dead leader drops to 0 when its lease runs out).",
               [({"holder": c.holder}, 1 if c.leader else 0) for c in live])
    out.metric("feedsvc_clock_seen_age_seconds", "gauge", "Seconds since each clock renewed its state.",
               [({"holder": c.holder}, round((now - c.seen_at).total_seconds(), 3)) for c in live])
    out.metric("feedsvc_clock_store_latency_seconds", "gauge",
               "How long the store took to answer each clock's last lease renewal.",
               [({"holder": c.holder}, c.store_latency_s) for c in live])
    out.metric("feedsvc_clock_leader_changes", "counter", "Times a clock took the lease.",
               [({}, counts.get("leader_changes", 0))])


def _link_metrics(web: WebState, out: _Exposition, counts: dict[str, int],
                  run: dict[str, Any] | None, now: datetime) -> None:
    """The link checker's backlog, its last run, and the links by status."""
    link_counts = LinkStore(web.store).counts()
    due, overdue = web.store.link_backlog(
        now, timedelta(seconds=2 * web.settings.linkcheck_interval))
    out.metric("feedsvc_linkcheck_due", "gauge", "Active links due for a check.", [({}, due)])
    out.metric("feedsvc_linkcheck_overdue", "gauge",
               "Links due for longer than two link-check intervals (the checker is behind).",
               [({}, overdue)])
    run_at = _timestamp(run["at"]) if run else None
    if run and run_at is not None:
        out.metric("feedsvc_linkcheck_last_run_timestamp_seconds", "gauge", "When the last link-check "
                   "run ended.", [({}, run_at)])
        out.metric("feedsvc_linkcheck_last_run_checked", "gauge", "Links the last run checked.",
                   [({}, run["checked"])])
    out.metric("feedsvc_linkcheck_runs", "counter", "Link-check runs.", [({}, counts.get("link_runs", 0))])
    out.metric("feedsvc_links_checked", "counter", "Link checks made.",
               [({}, counts.get("links_checked", 0))])
    if link_counts:
        out.metric("feedsvc_links", "gauge", "Checked article links by status.",
                   [({"status": s}, n) for s, n in link_counts.items() if s != "dead"])
        out.metric("feedsvc_links_dead", "gauge", "Article links counted as dead.",
                   [({}, link_counts.get("dead", 0))])


@bp.get("/metrics")
def metrics() -> Response:
    web = state()
    out = _Exposition()
    index = web.cache.refresh()
    cluster = _Exposition()
    up = 1
    problem = getattr(web.cache, "file_problem", None)
    if problem is not None:  # querying would create an empty store file in its place
        up = 0
    else:
        try:
            cluster_metrics(web, cluster)
        except StoreUnavailable:  # report the store as down, keep the rest
            up = 0
            cluster = _Exposition()
    out.metric("feedsvc_store_up", "gauge", "Whether the store answered this scrape.", [({}, up)])
    out.metric("feedsvc_generation", "gauge", "Generation this process serves.",
               [({}, index.generation or 0)])
    if index.published_at is not None:
        out.metric("feedsvc_generation_age_seconds", "gauge", "Age of the served generation.",
                   [({}, round((utcnow() - index.published_at).total_seconds(), 3))])
    text = out.text() + cluster.text() + process_metrics_text()
    response = Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_start)
    app.after_request(_count)
    time_statements(app.extensions["feedsvc"].store.engine,
                    lambda kind, seconds: STORE_LATENCY.labels(kind).observe(seconds))
