"""Errors that help: JSON for programs, HTML for people, chosen by `Accept`."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, current_app, jsonify, request
from flask.json.provider import JSONProvider
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

from feedsvc.render.common import FeedOptions
from feedsvc.render.html import render_error
from feedsvc.web.http import uncacheable


def json_error(status: int, error: str, message: str, **extra: object) -> Response:
    response = jsonify({"error": error, "message": message, **extra})
    response.status_code = status
    return uncacheable(response)


def wants_html(accept: str | None, path: str) -> bool:
    """Whether an error should be a page for people rather than JSON for programs."""
    accepted = parse_accept_header(accept, MIMEAccept)
    best = accepted.best_match(["application/json", "text/html"])
    if best is None:
        return not path.startswith(("/api/", "/feeds/", "/feeds.opml"))
    return best == "text/html" and accepted[best] > accepted["application/json"]


def published_topics(documents: Iterable[str]) -> list[str]:
    """The topics a 404 lists: every one with a published page."""
    return sorted(path[len("topics/"):-len(".html")] for path in documents
                  if path.startswith("topics/") and path.endswith(".html") and path.count("/") == 1)


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


_COMPACT = {"separators": (",", ":")}  # as Flask's jsonify writes outside debug mode


def error_response(code: int, name: str, description: str, topics: list[str], *, html: bool,
                   options: FeedOptions, json: JSONProvider) -> Response:
    """The error page (or JSON) for `code`; needs no request, so the WSGI table in front of
    Flask can make its 404s once per generation with exactly these bytes."""
    heading, message = MESSAGES.get(code, (name, description))
    topics = topics if code == 404 else []
    if topics:
        message += " Every topic is listed below; each has RSS, Atom and JSON feeds."
    if html:
        return uncacheable(Response(render_error(options, code, heading, message, topics),
                                    status=code, content_type="text/html; charset=utf-8"))
    extra = {"topics": topics} if topics else {}
    response = Response(json.dumps({"error": heading.lower(), "message": message, **extra},
                                   **_COMPACT) + "\n", status=code, mimetype="application/json")
    return uncacheable(response)


def _handle(exc: HTTPException) -> Response:
    from feedsvc.web.state import state

    web = state()
    code = exc.code or 500
    # refresh(), not .index: a 404 can be the process's first request, before anything loaded.
    topics = published_topics(web.cache.refresh().documents) if code == 404 else []
    response = error_response(code, exc.name, exc.description or "", topics,
                              html=wants_html(request.headers.get("Accept"), request.path),
                              options=web.options, json=current_app.json)
    allow = exc.get_response().headers.get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle)
