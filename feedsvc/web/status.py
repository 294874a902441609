"""Liveness, readiness and the last build report, for operators and orchestrators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.datastructures import MIMEAccept

from feedsvc.errors import StoreUnavailable
from feedsvc.links.store import LinkStore
from feedsvc.models import BuildReport, utcnow
from feedsvc.refusal import refusal_reason
from feedsvc.render.status_page import render_status_page
from feedsvc.web.http import uncacheable
from feedsvc.web.state import state

bp = Blueprint("status", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers. Touches nothing else, so a slow store never kills the pod."""
    return uncacheable(Response("ok\n", content_type="text/plain; charset=utf-8"))


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when the store answers and a generation is loaded; says how old it is."""
    web = state()
    index = web.cache.refresh(force=True)
    age = (utcnow() - index.published_at).total_seconds() if index.published_at else None
    ready = index.generation is not None and web.cache.last_error is None
    content = "unknown"
    if web.cache.last_error is None:
        try:
            report = web.store.last_report()
        except StoreUnavailable:  # the store error is reported below
            report = None
        if report is not None:
            content = _content_state(report)
    body = {"ready": ready, "generation": index.generation, "content": content,
            "published_at": index.published_at.isoformat() if index.published_at else None,
            "age_seconds": round(age, 1) if age is not None else None,
            "documents": len(index.documents),
            "store": "ok" if web.cache.last_error is None else web.cache.last_error}
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    return uncacheable(response)


def _content_state(stored: dict[str, Any]) -> str:
    """`ok`, or why the last build published nothing while the last good generation is served."""
    report = BuildReport.from_dict(stored)
    if not report.refused:
        return "ok"
    return f"{report.status.label}: {refusal_reason(report.status, report.problems)}"[:500]


@bp.get("/status")
def status() -> Response:
    """The last build report: counts, timings and every content problem."""
    web = state()
    web.cache.refresh()
    file_problem = getattr(web.cache, "file_problem", None)
    if file_problem is not None:  # querying would create an empty store file in its place
        response = jsonify({"error": "store unavailable", "message": file_problem,
                            "generation": web.cache.index.generation})
        response.status_code = 503
        return uncacheable(response)
    try:
        report = web.store.last_report()
        link_counts = LinkStore(web.store).counts()
    except StoreUnavailable as exc:  # an unreachable store is a status, not a crash
        response = jsonify({"error": "store unavailable", "message": str(exc).split("\n")[0],
                            "generation": web.cache.index.generation})
        response.status_code = 503
        return uncacheable(response)
    index = web.cache.refresh()
    last = BuildReport.from_dict(report) if report is not None else None
    response = jsonify({"generation": index.generation,
                        "published_at": index.published_at.isoformat() if index.published_at else None,
                        "content": _content_state(report) if report is not None else "unknown",
                        "store": web.cache.last_error or "ok",
                        "last_build": report, "links": link_counts})
    if last is not None and last.refused:
        response.headers["X-Feedsvc-Build"] = str(last.status)
    response.status_code = 200 if report is not None else 503
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
