"""Answering a request with a published document: the one view every document route
(feeds, archives, pages, OPML, the API's documents) ends in."""

from __future__ import annotations

from flask import Response, abort, request

from feedsvc.models import utcnow
from feedsvc.web.errors import json_error
from feedsvc.web.http import accepts_gzip, not_modified
from feedsvc.web.state import state

# Full archive pages never change (RFC 5005): cache them for a month. A correction
# to an archived entry (rare) reaches caches when that month is over.
IMMUTABLE = "public, max-age=2592000, immutable"


def serve(path: str, *, feed_self: str | None = None, hub: bool = False) -> Response:
    web = state()
    doc = web.cache.lookup(path)
    if doc is None:
        if web.cache.index.generation is None:
            return not_ready()
        abort(404)
    gzip = accepts_gzip(request.accept_encodings)
    headers = [
        ("ETag", f'"{doc.gzip_etag if gzip else doc.etag}"'),
        ("Last-Modified", doc.last_modified_http),
        ("Cache-Control", IMMUTABLE if doc.immutable else web.cache_control),
        ("Vary", "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if feed_self:
        headers.append(("Link", f'<{feed_self}>; rel="self"'))
        if hub and web.settings.websub_hub:
            headers.append(("Link", f'<{web.settings.websub_hub}>; rel="hub"'))
    if not_modified(request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"),
                    (doc.etag, doc.gzip_etag), doc.last_modified, utcnow()):
        return Response(status=304, headers=headers)
    body = web.cache.body(doc, gzipped=gzip)
    if body is None:  # its generation was pruned under us: answer from the current one
        web.cache.refresh(force=True)
        current = web.cache.index.documents.get(path)
        if current is None or current.blob_hash == doc.blob_hash:
            return not_ready("the document is not available right now")
        return serve(path, feed_self=feed_self, hub=hub)
    if gzip:
        headers.append(("Content-Encoding", "gzip"))
    return Response(body, 200, headers, content_type=doc.content_type)


def not_ready(reason: str = "no feeds have been published yet") -> Response:
    response = json_error(503, "service unavailable", f"{reason}; try again shortly")
    response.headers["Retry-After"] = "30"
    return response
