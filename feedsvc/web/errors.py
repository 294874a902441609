"""Errors that help: JSON for programs, HTML for people, chosen by `Accept`."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from feedsvc.render.html import render_error
from feedsvc.web.http import uncacheable


def json_error(status: int, error: str, message: str, **extra: object) -> Response:
    response = jsonify({"error": error, "message": message, **extra})
    response.status_code = status
    return uncacheable(response)


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if best is None:
        return not request.path.startswith(("/api/", "/feeds/", "/feeds.opml"))
    accepted = request.accept_mimetypes
    return best == "text/html" and accepted[best] > accepted["application/json"]


def _topics() -> list[str]:
    from feedsvc.web.state import state

    # refresh(), not .index: a 404 can be the process's first request, before anything loaded.
    docs = state().cache.refresh().documents
    return sorted(path[len("topics/"):-len(".html")] for path in docs if path.startswith("topics/"))


MAX_URL_LENGTH = 2048


def refuse_oversized_requests() -> Response | None:
    """Over-long paths and query strings get 414 before any routing or lookup."""
    if len(request.full_path) > MAX_URL_LENGTH:
        return json_error(414, "uri too long", f"URLs here are at most {MAX_URL_LENGTH} characters")
    return None


MESSAGES = {
    404: ("Not found", "There is no page, feed or topic at this address."),
    405: ("Method not allowed", "This address only answers GET and HEAD."),
}


def _handle(exc: HTTPException) -> Response:
    from feedsvc.web.state import state

    heading, message = MESSAGES.get(exc.code or 500, (exc.name, exc.description or ""))
    topics = _topics() if exc.code == 404 else []
    if exc.code == 404 and topics:
        message += " Every topic is listed below; each has RSS, Atom and JSON feeds."
    if _wants_html():
        response = uncacheable(Response(
            render_error(state().options, exc.code or 500, heading, message, topics),
            status=exc.code, content_type="text/html; charset=utf-8"))
    else:
        extra = {"topics": topics} if topics else {}
        response = json_error(exc.code or 500, heading.lower(), message, **extra)
    allow = exc.get_response().headers.get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle)
