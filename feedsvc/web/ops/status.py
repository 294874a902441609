"""Liveness, readiness, store health and the status document, for operators and orchestrators.

* `/healthz`: the process answers (touches nothing else).
* `/readyz`: *this process can serve*: a generation is loaded. A database blip
  does not make it 503: every web keeps serving the generation it holds, and
  a load balancer that dropped them all would take the site down for nothing.
  The store's state is reported in the body, not in the status code.
* `/healthz/store`: the store answers (503 when it does not): for alerts, not
  for load balancers.
* `/status`: the status document (`status_document`, a pure function of what
  was read, so an HTML page can render the same data).

While the store is away, a page that needs it (a live page, a document not
yet cached) answers 503 with Retry-After, never 500 with a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.datastructures import MIMEAccept

from feedsvc import opsstate
from feedsvc.errors import StoreUnavailable
from feedsvc.models import BuildReport, utcnow
from feedsvc.refusal import refusal_reason
from feedsvc.render.status_page import render_status_page
from feedsvc.store.linkstore import LinkStore
from feedsvc.web.error_pages import json_error
from feedsvc.web.http import uncacheable
from feedsvc.web.state import WebState, state

bp = Blueprint("status", __name__)
RETRY_AFTER = "30"


def _store_problem(web: WebState) -> str | None:
    return web.cache.last_error


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers. Touches nothing else, so a slow store never kills the pod."""
    return uncacheable(Response("ok\n", content_type="text/plain; charset=utf-8"))


@bp.get("/healthz/store")
def store_health() -> Response:
    """Whether the store answers now (a query, unless the SQLite file is known to be gone)."""
    web = state()
    web.cache.refresh(force=True)
    problem = _store_problem(web)
    response = jsonify({"store": "ok" if problem is None else problem})
    response.status_code = 200 if problem is None else 503
    return uncacheable(response)


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when a generation is loaded (from the store now or held from before); says how
    old it is and, separately, whether the store answers."""
    web = state()
    index = web.cache.refresh(force=True)
    age = (utcnow() - index.published_at).total_seconds() if index.published_at else None
    ready = index.generation is not None
    content = "unknown"
    if _store_problem(web) is None:
        try:
            report = web.store.last_report()
        except StoreUnavailable:  # the store error is reported below
            report = None
        if report is not None:
            content = content_state(report)
    body = {"ready": ready, "generation": index.generation, "content": content,
            "published_at": index.published_at.isoformat() if index.published_at else None,
            "age_seconds": round(age, 1) if age is not None else None,
            "documents": len(index.documents),
            "store": _store_problem(web) or "ok"}
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    return uncacheable(response)


def content_state(stored: dict[str, Any]) -> str:
    """`ok`, or why the last build published nothing while the last good generation is served."""
    report = BuildReport.from_dict(stored)
    if not report.refused:
        return "ok"
    return f"{report.status.label}: {refusal_reason(report.status, report.problems)}"[:500]


def status_document(*, generation: int | None, published_at: str | None, store: str,
                    reports: dict[str, dict[str, Any] | None], links: dict[str, int],
                    clocks: Sequence[opsstate.ClockRow], counters: dict[str, int],
                    subscribers: dict[str, Any], now_iso: str,
                    link_backlog: tuple[int, int] = (0, 0),
                    websub_backlog: dict[str, int] | None = None) -> dict[str, Any]:
    """The /status document from what was read: a pure function, shared by any renderer.

    `last_build` is the latest build whatever it did; `last_published` and
    `last_failure` are kept apart, so that the "unchanged" builds that run every
    interval never hide the build that published the content or the one that
    failed."""
    last = reports.get("last_report")
    failure = reports.get("last_failed_report")
    return {
        "generation": generation, "published_at": published_at,
        "content": content_state(last) if last is not None else "unknown",
        "store": store, "now": now_iso,
        "last_build": last,
        # Articles that appear or leave later (in no published document until then),
        # soonest first, as the last build saw them.
        "scheduled": (last or {}).get("schedule") or [],
        "last_published": reports.get("last_published_report"),
        "last_failure": failure,
        "last_success_at": (reports.get("last_success_at") or {}).get("at"),
        "builds": {name.split(":", 1)[1]: n for name, n in sorted(counters.items())
                   if name.startswith("builds:")},
        "clocks": [{"holder": c.holder, "leader": c.leader, "live": c.live,
                    "started_at": c.started_at.isoformat(),
                    "seen_at": c.seen_at.isoformat(), "store_latency_s": c.store_latency_s}
                   for c in clocks],
        "link_check": {"last_run": reports.get("last_link_run"), "due": link_backlog[0],
                       "overdue": link_backlog[1]},
        "websub": {"pings": counters.get("websub_pings", 0),
                   "failures": counters.get("websub_failures", 0), "queue": websub_backlog},
        "links": links,
        "subscribers": subscribers,
    }


@bp.get("/status")
def status() -> Response:
    """The last build, the last published one and the last failure, clocks, links, subscribers."""
    web = state()
    index = web.cache.refresh()
    file_problem = getattr(web.cache, "file_problem", None)
    if file_problem is not None:  # querying would create an empty store file in its place
        return _unavailable(file_problem, index.generation)
    try:
        now = utcnow()
        from feedsvc.web.ops.metrics import websub_backlog
        from feedsvc.web.ops.polls import subscriber_estimates

        estimates = subscriber_estimates(web.store, now)
        document = status_document(
            generation=index.generation,
            published_at=index.published_at.isoformat() if index.published_at else None,
            store=_store_problem(web) or "ok", reports=opsstate.reports(web.store),
            links=LinkStore(web.store).counts(),
            clocks=web.store.clocks(now, web.settings.clock_lease_seconds),
            counters=web.store.counters(),
            subscribers={e.path: {"estimate": e.estimate, "today": e.today.as_dict(),
                                  "yesterday": e.yesterday.as_dict()} for e in estimates},
            now_iso=now.isoformat(),
            link_backlog=web.store.link_backlog(
                now, timedelta(seconds=2 * web.settings.linkcheck_interval)),
            websub_backlog=websub_backlog(web))
    except StoreUnavailable as exc:  # an unreachable store is a status, not a crash
        return _unavailable(str(exc).split("\n")[0], index.generation)
    last = document["last_build"]
    response = jsonify(document)
    if last is not None and BuildReport.from_dict(last).refused:
        response.headers["X-Feedsvc-Build"] = str(last["status"])
    response.status_code = 200 if last is not None else 503
    return uncacheable(response)


def prefers_html(accept: MIMEAccept) -> bool:
    """A browser's request: text/html ranked above JSON. A client that sends `*/*`, no
    Accept at all or asks for JSON keeps getting JSON, as before."""
    html, json_quality = accept.quality("text/html"), accept.quality("application/json")
    explicit_html = any(value == "text/html" for value, _ in accept)
    return explicit_html and html > 0 and html >= json_quality and \
        accept.best_match(["application/json", "text/html"]) == "text/html"


@bp.after_request
def status_as_html(response: Response) -> Response:
    """/status in a browser: the same report (the JSON the view built) as a page."""
    if request.endpoint != "status.status":
        return response
    response.vary.add("Accept")
    if not prefers_html(request.accept_mimetypes) or not response.is_json:
        return response
    data = response.get_json(silent=True)
    if not isinstance(data, dict):
        return response
    page = Response(render_status_page(data, state().options, utcnow()), status=response.status_code,
                    content_type="text/html; charset=utf-8")
    for name in ("Cache-Control", "X-Content-Type-Options", "X-Feedsvc-Build"):
        if name in response.headers:
            page.headers[name] = response.headers[name]
    page.vary.add("Accept")
    return page


def _unavailable(message: str, generation: int | None) -> Response:
    response = json_error(503, "store unavailable", message, generation=generation)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


@bp.app_errorhandler(StoreUnavailable)
def store_unavailable(exc: StoreUnavailable) -> Response:
    """Any page that needed the store while it is away: 503 and when to come back."""
    web = state()
    return _unavailable(str(exc).split("\n")[0][:300], web.cache.index.generation)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
