"""/metrics in the Prometheus text format: builds, content, links, and this process's HTTP.

Build, content and link figures come from the store (shared by every web
process); request counters are per process, labelled with the process id so
that scrapes of different workers are not mistaken for resets.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import datetime

from flask import Blueprint, Flask, Response, request

from feedsvc.errors import StoreUnavailable
from feedsvc.links.store import LinkStore
from feedsvc.models import BuildStatus, utcnow
from feedsvc.web.state import state

bp = Blueprint("metrics", __name__)
_requests: Counter[tuple[str, int]] = Counter()
_lock = threading.Lock()
BUILD_STATUSES = tuple(BuildStatus)


def count_request(route: str, status: int) -> None:
    """Count one answered request (also called by the WSGI fast path, which skips Flask)."""
    with _lock:
        _requests[(route, status)] += 1


def _count(response: Response) -> Response:
    count_request(request.url_rule.endpoint if request.url_rule is not None else "unmatched",
                  response.status_code)
    return response


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str,
               samples: list[tuple[dict[str, str], float]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            number = repr(float(value)) if isinstance(value, float) else str(int(value))
            self.lines.append(f"{name}{{{text}}} {number}" if text else f"{name} {number}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@bp.get("/metrics")
def metrics() -> Response:
    web = state()
    out = _Exposition()
    up = 1
    report = None
    link_counts: dict[str, int] = {}
    try:
        report = web.store.last_report()
        link_counts = LinkStore(web.store).counts()
    except StoreUnavailable:  # report the store as down, keep the rest
        up = 0
    out.metric("feedsvc_store_up", "gauge", "Whether the store answered this scrape.", [({}, up)])
    index = web.cache.refresh()
    out.metric("feedsvc_generation", "gauge", "Generation this process serves.",
               [({}, index.generation or 0)])
    if index.published_at is not None:
        out.metric("feedsvc_generation_age_seconds", "gauge", "Age of the served generation.",
                   [({}, round((utcnow() - index.published_at).total_seconds(), 3))])
    if report:
        started = datetime.fromisoformat(str(report["started_at"]))
        out.metric("feedsvc_build_duration_seconds", "gauge", "Duration of the last build.",
                   [({}, report["duration_s"])])
        out.metric("feedsvc_build_last_timestamp_seconds", "gauge", "When the last build started.",
                   [({}, started.timestamp())])
        out.metric("feedsvc_build_status", "gauge", "Result of the last build (1 for its status).",
                   [({"status": s}, 1 if report["status"] == s else 0) for s in BUILD_STATUSES])
        out.metric("feedsvc_articles", "gauge", "Articles in the last build.", [({}, report["articles"])])
        out.metric("feedsvc_topics", "gauge", "Topics in the last build.", [({}, report["topics"])])
        out.metric("feedsvc_content_problems", "gauge", "Content problems in the last build.",
                   [({"severity": "error"}, report["errors"]), ({"severity": "warning"}, report["warnings"])])
    if link_counts:
        out.metric("feedsvc_links", "gauge", "Checked article links by status.",
                   [({"status": s}, n) for s, n in link_counts.items() if s != "dead"])
        out.metric("feedsvc_links_dead", "gauge", "Article links counted as dead.",
                   [({}, link_counts.get("dead", 0))])
    with _lock:
        samples = sorted(_requests.items())
    pid = str(os.getpid())
    out.metric("feedsvc_http_requests_total", "counter", "HTTP requests answered by this process.",
               [({"route": route, "status": str(status), "pid": pid}, n) for (route, status), n in samples])
    response = Response(out.text(), content_type="text/plain; version=0.0.4; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_count)
