"""The ceiling for benchmarks/serve.py: a minimal Flask view returning in-memory bytes.

Serves one document read once from the store at start-up, with the same
conditional and gzip handling a framework gives for free (make_conditional),
so the gap to it is what feedsvc's own request path costs.
"""

from __future__ import annotations

import gzip
import hashlib
import os

from flask import Flask, Response, request


def create_app() -> Flask:
    app = Flask(__name__)
    with open(os.environ["CEILING_BODY"], "rb") as handle:
        body = handle.read()
    packed = gzip.compress(body, mtime=0)
    tag = hashlib.sha256(body).hexdigest()[:32]

    @app.get("/feed")
    def feed() -> Response:
        zipped = "gzip" in request.headers.get("Accept-Encoding", "")
        response = Response(packed if zipped else body, content_type="application/rss+xml")
        if zipped:
            response.headers["Content-Encoding"] = "gzip"
        response.set_etag(tag + ("-gzip" if zipped else ""))
        return response.make_conditional(request)

    return app
