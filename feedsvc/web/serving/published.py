"""Answering a request with a published document: the one view every document route
(feeds, archives, pages, OPML, the API's documents) ends in.

What to answer is `answers.answer()`'s decision; this module only gathers its
inputs from the generation held in memory (`target`) and turns the decision
into a Flask response. The WSGI table in front of Flask builds its entries
with the same `target()`.
"""

from __future__ import annotations

import re

from flask import Response, abort, request

from feedsvc.models import utcnow
from feedsvc.urls import INDEX_PATH, topic_html_path
from feedsvc.web.error_pages import json_error
from feedsvc.web.http import accepts_gzip
from feedsvc.web.serving.answers import Answer, Asked, Body, Target, answer
from feedsvc.web.state import WebState, state

# Subscription feeds and their archive pages: the documents a browser may be sent away from.
_FEED = re.compile(r"^feeds/(?P<slug>[^/]+)(?P<archive>/archive/\d+)?\.[a-z]+$")


def target(web: WebState, path: str, *, api: bool = False) -> Target | None:
    """What answering `path` depends on besides the request; None when it is not published.

    A feed links to itself (and its subscription document to the WebSub hub);
    the API's view of a feed links to itself only and is never redirected."""
    documents = web.cache.index.documents
    doc = documents.get(path)
    if doc is None:
        return None
    feed = _FEED.match(path)
    if feed is None:
        return Target(doc, web.cache_control)
    links: tuple[str, ...] = (f'<{web.options.urls.absolute(path)}>; rel="self"',)
    if api:
        return Target(doc, web.cache_control, links)
    hub = web.settings.websub_hub
    if hub and not feed["archive"]:
        links += (f'<{hub}>; rel="hub"',)
    slug = feed["slug"]
    page = INDEX_PATH if slug == "all" else topic_html_path(slug)
    see_other = web.options.urls.topic_page(slug) if page in documents else None
    return Target(doc, web.cache_control, links, doc.content_type.split(";")[0], see_other)


def asked() -> Asked:
    """This Flask request, as `answer()` takes it."""
    headers = request.headers
    return Asked(accepts_gzip(request.accept_encodings), headers.get("If-None-Match"),
                 headers.get("If-Modified-Since"), headers.get("Accept"),
                 headers.get("Sec-Fetch-Dest"), headers.get("Upgrade-Insecure-Requests"))


def to_response(decided: Answer, body: bytes = b"") -> Response:
    """A Flask response carrying exactly the decided headers (werkzeug adds only
    Content-Length, from the body, as the WSGI table does)."""
    response = Response(body, decided.status, decided.headers)
    if not any(name == "Content-Type" for name, _ in decided.headers):
        del response.headers["Content-Type"]
    if decided.body is Body.NONE:
        response.headers.pop("Content-Length", None)
        if decided.status == 303:
            response.headers["Content-Length"] = "0"
    response.autocorrect_location_header = False
    return response


def serve(path: str, *, api: bool = False) -> Response:
    web = state()
    web.cache.refresh()
    found = target(web, path, api=api)
    if found is None:
        if web.cache.index.generation is None:
            return not_ready()
        abort(404)
    decided = answer(found, asked(), utcnow())
    if decided.body is Body.NONE:
        return to_response(decided)
    body = web.cache.body(found.doc, gzipped=decided.body is Body.GZIP)
    if body is None:  # its generation was pruned under us: answer from the current one
        web.cache.refresh(force=True)
        current = web.cache.index.documents.get(path)
        if current is None or current.blob_hash == found.doc.blob_hash:
            return not_ready("the document is not available right now")
        return serve(path, api=api)
    return to_response(decided, body)


def not_ready(reason: str = "no feeds have been published yet") -> Response:
    response = json_error(503, "service unavailable", f"{reason}; try again shortly")
    response.headers["Retry-After"] = "30"
    return response
