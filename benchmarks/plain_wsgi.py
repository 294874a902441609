"""The serving ceiling for benchmarks/peers.py: a bare WSGI callable, no framework.

Returns the exact bytes feedsvc serves for one feed (plain and gzip, read
from files named in PLAIN_BODY / PLAIN_GZIP at import) with feedsvc's own
ETags (PLAIN_ETAG / PLAIN_ETAG_GZIP), answering If-None-Match with 304, at
PLAIN_PATH; any other path gets feedsvc's own 404 bytes (PLAIN_404, of type
PLAIN_404_TYPE). Run under the same granian settings as `feedsvc web`, the
gap to it is the cost of feedsvc's request path rather than of the server.
With FEEDSVC_RATE_LIMIT set above 0 it also makes feedsvc's rate-limit upsert
per request (the same StoreRateLimiter, the same store): the ceiling of
`feedsvc web` with rate limiting on is the store's upsert, not Python.

Usage: python benchmarks/plain_wsgi.py HOST PORT WORKERS THREADS
"""

from __future__ import annotations

import contextlib
import os
import sys

with open(os.environ["PLAIN_BODY"], "rb") as _handle:
    BODY = _handle.read()
with open(os.environ["PLAIN_GZIP"], "rb") as _handle:
    PACKED = _handle.read()
with open(os.environ["PLAIN_404"], "rb") as _handle:
    MISSING = _handle.read()
TAG, TAG_GZIP = os.environ["PLAIN_ETAG"], os.environ["PLAIN_ETAG_GZIP"]
PATH = os.environ["PLAIN_PATH"]
LIMITER = None
if float(os.environ.get("FEEDSVC_RATE_LIMIT", "0")) > 0:
    from feedsvc.store import Store
    from feedsvc.store.hotpath import hot_path_engine
    from feedsvc.store.ratebuckets import StoreRateLimiter

    LIMITER = StoreRateLimiter(hot_path_engine(Store(os.environ["FEEDSVC_DATABASE_URL"])),
                               float(os.environ["FEEDSVC_RATE_LIMIT"]),
                               float(os.environ.get("FEEDSVC_RATE_LIMIT_BURST", "30")))
MISSING_HEADERS = [("Content-Type", os.environ["PLAIN_404_TYPE"]), ("Cache-Control", "no-store"),
                   ("X-Content-Type-Options", "nosniff"), ("Content-Length", str(len(MISSING)))]


def app(environ, start_response):
    if LIMITER is not None:
        # The store was busy: let the request through, as feedsvc does.
        with contextlib.suppress(Exception):
            LIMITER.admit(environ.get("REMOTE_ADDR", ""), 0.1 if environ.get("HTTP_IF_NONE_MATCH") else 1.0)
    if environ.get("PATH_INFO") != PATH:
        start_response("404 Not Found", MISSING_HEADERS)
        return [MISSING]
    zipped = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
    tag = TAG_GZIP if zipped else TAG
    headers = [("Content-Type", "application/rss+xml; charset=utf-8"), ("ETag", tag),
               ("Vary", "Accept-Encoding"), ("Cache-Control", "public, max-age=60")]
    if tag in environ.get("HTTP_IF_NONE_MATCH", ""):
        start_response("304 Not Modified", headers)
        return [b""]
    body = PACKED if zipped else BODY
    if zipped:
        headers.append(("Content-Encoding", "gzip"))
    start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    from feedsvc.settings import load_settings
    from feedsvc.web.launch import granian_limits

    host, port, workers, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    # The same arguments `feedsvc web` passes (feedsvc.web.launch.run_web_server).
    Granian("plain_wsgi:app", interface=Interfaces.WSGI, address=host, port=port, workers=workers,
            blocking_threads=threads, respawn_failed_workers=True, log_access=False,
            **granian_limits(load_settings())).serve()


if __name__ == "__main__":
    main()
