"""A thin WSGI layer that answers published documents without Flask's request machinery.

Feed readers poll the same few URLs all day, mostly to hear `304 Not
Modified`. Flask and werkzeug spend about 85% of such a request building
request and response objects; the answer itself depends only on the path,
the published generation, `Accept-Encoding`, the validators and (for feeds)
`Accept`. So, in the manner of WhiteNoise, this layer keeps per generation,
for each document URL, the exact status lines and header lists of its
representations (identity and gzip, 200 and 304) and the answers for unknown
feed and topic URLs (404), and answers GET and HEAD from them. Everything
else goes to the Flask app unchanged.

Exactness comes from construction, not from a second copy of the rules: each
representation's headers are what the Flask view itself answers (the view is
called once, in a request context, with a representative request, and the
response's WSGI headers are kept), and the 404 is what Flask's error handler
answers for that path and `Accept`. Decisions per request use the same pure
functions the views use (`not_modified`, `accepts_gzip`). Request counting
goes to the same metrics counter, with the route Flask would have counted.

A request goes to Flask whenever this layer could not answer it the way
Flask would: another method, an over-long or unusual path, a query string on
a route that reads it, rate limiting switched on (its buckets live in Flask's
hooks), nothing published yet, a body missing from the store, and any
request hook this module does not know (a hook added later would otherwise
be skipped silently; `FastPath.active` says whether it is on).

Freshness: every request asks the document cache for its generation (which
re-checks the store at most every FEEDSVC_WEB_CHECK_INTERVAL); the
precomputed answers belong to one generation's index object and are dropped
as soon as another is served, so a 304 is never answered for bytes that are
no longer published.

On feeds (subscription and archive documents), a browser's navigation that
prefers HTML (`feedsvc.web.negotiate`) is sent to the topic's page with
`303 See Other`, and every feed response carries `Vary: Accept,
Sec-Fetch-Dest, Upgrade-Insecure-Requests` as a second Vary field line (RFC
9110 §5.3: the same as one combined list), so caches keep the feed and the
redirect apart.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import parse_accept_header
from werkzeug.routing import MapAdapter

from feedsvc.models import utcnow
from feedsvc.urls import (
    API_TOPICS_PATH,
    ARTICLES_CHART_PATH,
    FAVICON_PATH,
    ICON_PATH,
    INDEX_PATH,
    LOGO_PATH,
    OPML_PATH,
    STYLESHEET_PATH,
    archive_path,
    article_html_path,
    feed_path,
    topic_html_path,
)
from feedsvc.web.documents import GenerationIndex, ServedDocument
from feedsvc.web.http import accepts_gzip, not_modified
from feedsvc.web.metrics import record_request
from feedsvc.web.negotiate import is_navigation, prefers_html
from feedsvc.web.polls import PollCounter, poll_from_environ

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from feedsvc.web.state import WebState

log = logging.getLogger(__name__)

Headers = list[tuple[str, str]]

# Paths this layer looks at; anything else (percent-decoded oddities, control
# characters, non-ASCII stems) is Flask's.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]{0,300}")
MAX_URL_LENGTH = 2048  # feedsvc.web.errors.MAX_URL_LENGTH: longer ones get Flask's 414
MEMO_LIMIT = 4096      # answers for paths that are not documents, per generation

FEED_ENDPOINTS = frozenset({"documents.feed", "documents.archive"})
# Documents whose view reads the query string (`/feeds.opml?topics=a,b`): with one, Flask
# answers. Every other document is the same whatever the query (`?utm_source=...`).
QUERY_ENDPOINTS = frozenset({"documents.opml"})


def _document_path(endpoint: str, args: dict[str, Any]) -> str | None:
    """The published document a document route serves, or None for routes that are not one."""
    if endpoint == "documents.feed":
        return feed_path(args["slug"], args["fmt"])
    if endpoint == "documents.archive":
        return archive_path(args["slug"], args["page"], args["fmt"])
    if endpoint == "documents.topic":
        return topic_html_path(args["slug"])
    if endpoint == "documents.article":
        return article_html_path(args["stem"])
    return {"documents.opml": OPML_PATH, "documents.stylesheet": STYLESHEET_PATH,
            "documents.articles_chart": ARTICLES_CHART_PATH, "documents.index": INDEX_PATH,
            "documents.api_topics": API_TOPICS_PATH, "conventional.favicon": FAVICON_PATH,
            "conventional.icon": ICON_PATH, "conventional.logo": LOGO_PATH}.get(endpoint)


# Request hooks whose effect this layer reproduces (or, for rate limiting, defers to Flask for).
KNOWN_HOOKS = frozenset({
    "feedsvc.web.errors.refuse_oversized_requests",
    "feedsvc.web.metrics._start",   # request count and latency: `_answered`
    "feedsvc.web.metrics._count",
    "feedsvc.web.polls.init_app.<locals>._count_poll",  # poll counting: `_answered`
    "feedsvc.web.origin.cache_redirects.<locals>.hook",
    "feedsvc.web.ratelimit.init_app.<locals>._check",
    "feedsvc.web.ratelimit.init_app.<locals>._settle",
    # Only for live article pages (never a published document) and /status (never here):
    "feedsvc.web.status._refuse_live_article_without_store",
    "feedsvc.web.status.status_as_html",
})


def unknown_hooks(app: Flask) -> list[str]:
    """Request hooks registered on `app` that the fast path would skip."""
    found = []
    for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs,
                     app.url_value_preprocessors):
        for functions in registry.values():
            for function in functions:
                name = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"
                if name not in KNOWN_HOOKS:
                    found.append(name)
    return found


@dataclass(slots=True)
class Document:
    """One document URL's answers in one generation."""

    endpoint: str
    doc: ServedDocument
    tags: tuple[str, str]                     # quoted ETags: identity, gzip
    ok: tuple[Headers, Headers]               # 200 headers: identity, gzip
    not_modified: tuple[Headers, Headers]     # 304 headers: identity, gzip
    feed_type: str | None = None              # a feed: its media type (Accept is negotiated)
    see_other: Headers | None = None          # a feed: the redirect a browser gets


@dataclass(slots=True)
class Fixed:
    """A whole answer that depends only on the path and the request headers in its key."""

    endpoint: str
    status: str
    headers: Headers
    body: bytes


DELEGATE = "delegate"


@dataclass
class Memo:
    index: GenerationIndex
    documents: dict[str, Document | str] = field(default_factory=dict)
    fixed: dict[tuple[str, str, str], Fixed] = field(default_factory=dict)


def _status_line(response: Response) -> str:
    return response.status


class FastPath:
    """WSGI middleware in front of the Flask app (installed as `app.wsgi_app`)."""

    def __init__(self, app: Flask, downstream: WSGIApplication) -> None:
        self.app = app
        self.downstream = downstream
        self._active: bool | None = None
        self._memo: Memo | None = None
        self._adapter: MapAdapter | None = None
        self._gzip: dict[str, bool] = {}
        self._html: dict[tuple[str, str], bool] = {}
        self._lock = threading.Lock()
        self._polls: PollCounter | None = app.extensions.get("feedsvc_polls")
        self._hops = int(app.config["FEEDSVC_SETTINGS"].trust_proxy)

    # --- whether to answer at all ---------------------------------------

    @property
    def active(self) -> bool:
        """Decided at the first request, once every hook is registered."""
        if self._active is None:
            unknown = unknown_hooks(self.app)
            limited = "feedsvc_rate_limiter" in self.app.extensions
            if unknown:
                log.warning("web fast path off: request hooks it cannot reproduce: %s",
                            ", ".join(unknown))
            self._active = not unknown and not limited
        return self._active

    def _answered(self, environ: WSGIEnvironment, endpoint: str, status: int,
                  started: float) -> None:
        """What Flask's hooks do for an answered request: count it and its latency in
        /metrics (metrics._start/_count), and count a feed poll (polls._count_poll)."""
        record_request(endpoint, status, time.perf_counter() - started)
        polls = self._polls
        if polls is not None:
            poll = poll_from_environ(environ, status, self._hops)
            if poll is not None:
                polls.record(poll, utcnow())

    def _web(self) -> WebState:
        web: WebState = self.app.extensions["feedsvc"]
        return web

    # --- the request ------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        path: str = environ.get("PATH_INFO", "")  # empty: Flask answers 308 to "/"
        if (method != "GET" and method != "HEAD") or not self.active:
            return self.downstream(environ, start_response)
        query: str = environ.get("QUERY_STRING", "")
        if (len(path) + len(query) + 1 > MAX_URL_LENGTH or not _PLAIN_PATH.fullmatch(path)
                or "//" in path):  # merged slashes: Flask's 308, built from the base URL
            return self.downstream(environ, start_response)
        index = self._web().cache.refresh()
        if index.generation is None:
            return self.downstream(environ, start_response)
        memo = self._memo
        if memo is None or memo.index is not index:
            memo = self._memo = Memo(index)
        found = memo.documents.get(path)
        if found is None:
            found = self._classify(memo, path)
        if found == DELEGATE:
            return self.downstream(environ, start_response)
        if isinstance(found, Document):
            if query and found.endpoint in QUERY_ENDPOINTS:
                return self.downstream(environ, start_response)
            return self._document(found, environ, start_response, method == "HEAD", started,
                                  retry=True)
        return self._not_found(memo, path, environ, start_response, started)

    def _document(self, entry: Document, environ: WSGIEnvironment, start_response: StartResponse,
                  head: bool, started: float, *, retry: bool) -> Iterable[bytes]:
        if entry.feed_type is not None and entry.see_other is not None:
            accept = environ.get("HTTP_ACCEPT")
            if accept and self._prefers_html(accept, entry.feed_type) and is_navigation(
                    environ.get("HTTP_SEC_FETCH_DEST"), environ.get("HTTP_UPGRADE_INSECURE_REQUESTS")):
                self._answered(environ, entry.endpoint, 303, started)
                start_response("303 See Other", list(entry.see_other))
                return []
        gzip = self._accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
        if if_none_match is not None or if_modified_since:
            doc = entry.doc
            if (if_none_match is not None and if_none_match in entry.tags) or not_modified(
                    if_none_match, if_modified_since, (doc.etag, doc.gzip_etag),
                    doc.last_modified, utcnow()):
                self._answered(environ, entry.endpoint, 304, started)
                start_response("304 Not Modified", list(entry.not_modified[gzip]))
                return []
        web = self._web()
        body = web.cache.body(entry.doc, gzipped=gzip)
        if body is None:  # pruned under an index we still hold: let a fresh one answer
            web.cache.refresh(force=True)
            if retry and self._memo is not None and self._memo.index is not web.cache.index:
                return self(environ, start_response)
            return self.downstream(environ, start_response)
        self._answered(environ, entry.endpoint, 200, started)
        start_response("200 OK", list(entry.ok[gzip]))
        return [] if head else [body]

    def _not_found(self, memo: Memo, path: str, environ: WSGIEnvironment,
                   start_response: StartResponse, started: float) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        accept = environ.get("HTTP_ACCEPT", "")
        key = (path, method, accept)
        fixed = memo.fixed.get(key)
        if fixed is None:
            built = self._error_answer(path, method, accept, memo)
            if built is None:
                return self.downstream(environ, start_response)
            fixed = built
            if len(memo.fixed) >= MEMO_LIMIT:
                memo.fixed.clear()
            memo.fixed[key] = fixed
        self._answered(environ, fixed.endpoint, int(fixed.status[:3]), started)
        start_response(fixed.status, list(fixed.headers))
        return [fixed.body] if fixed.body else []

    # --- per-header decisions, memoised (clients send few distinct values) ---

    def _accepts_gzip(self, value: str | None) -> bool:
        if not value:
            return False
        known = self._gzip.get(value)
        if known is None:
            known = accepts_gzip(parse_accept_header(value))
            if len(self._gzip) >= MEMO_LIMIT:
                self._gzip.clear()
            self._gzip[value] = known
        return known

    def _prefers_html(self, accept: str, feed_type: str) -> bool:
        key = (accept, feed_type)
        known = self._html.get(key)
        if known is None:
            known = prefers_html(accept, feed_type)
            if len(self._html) >= MEMO_LIMIT:
                self._html.clear()
            self._html[key] = known
        return known

    # --- building the answers of one generation ---------------------------

    def _match(self, path: str) -> tuple[str, dict[str, Any]] | None:
        if self._adapter is None:
            self._adapter = self.app.url_map.bind("localhost")
        try:
            endpoint, args = self._adapter.match(path, method="GET")
        except HTTPException:  # redirects, 404s and 405s are Flask's to answer
            return None
        return str(endpoint), dict(args)

    def _classify(self, memo: Memo, path: str) -> Document | str | None:
        """A document's answers, DELEGATE, or None for a document route with no document."""
        matched = self._match(path)
        decision: Document | str | None = DELEGATE
        if matched is not None:
            endpoint, args = matched
            doc_path = _document_path(endpoint, args)
            if doc_path is not None:
                doc = memo.index.documents.get(doc_path)
                if doc is not None:
                    decision = self._build(memo, path, endpoint, doc) or DELEGATE
                elif endpoint in ("documents.feed", "documents.archive", "documents.topic"):
                    decision = None  # an alias (Flask redirects) or a 404 (answered here)
        if decision is None:
            return None  # not memoised by path: its answers are keyed by Accept as well
        if decision == DELEGATE and len(memo.documents) >= MEMO_LIMIT:
            return decision  # only documents are memoised once the memo is full
        memo.documents[path] = decision
        return decision

    def _respond(self, path: str, headers: dict[str, str], method: str = "GET") -> Response:
        """What the Flask view answers for this request, without its request hooks."""
        with self.app.test_request_context(path, method=method, headers=headers):
            try:
                return self.app.make_response(self.app.dispatch_request())
            except HTTPException as exc:
                return self.app.make_response(self.app.handle_user_exception(exc))

    def _build(self, memo: Memo, path: str, endpoint: str, doc: ServedDocument) -> Document | None:
        answers: dict[tuple[bool, bool], Headers] = {}
        for gzip in (False, True):
            for revalidate in (False, True):
                request = {"Accept-Encoding": "gzip"} if gzip else {}
                if revalidate:
                    request["If-None-Match"] = "*"
                response = self._respond(path, request)
                if response.status_code != (304 if revalidate else 200):
                    return None
                environ = {"REQUEST_METHOD": "GET", "SERVER_NAME": "localhost",
                           "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
                answers[(gzip, revalidate)] = response.get_wsgi_headers(environ).to_wsgi_list()
        if self._web().cache.index is not memo.index:
            return None  # a new generation arrived while building: answer from Flask this time
        feed_type = doc.content_type.split(";")[0] if endpoint in FEED_ENDPOINTS else None
        see_other = None
        if feed_type is not None:
            for answer in answers.values():
                _vary_accept(answer)
            see_other = self._see_other(memo, path)
        return Document(endpoint, doc, (f'"{doc.etag}"', f'"{doc.gzip_etag}"'),
                        (answers[(False, False)], answers[(True, False)]),
                        (answers[(False, True)], answers[(True, True)]),
                        feed_type, see_other)

    def _see_other(self, memo: Memo, path: str) -> Headers | None:
        """The 303 to the topic's page, or None when the topic has no page to send people to."""
        slug = path.split("/")[2].split(".")[0]
        page = INDEX_PATH if slug == "all" else topic_html_path(slug)
        if page not in memo.index.documents:
            return None
        location = self._web().options.urls.topic_page(slug)
        return [("Location", location), ("Content-Length", "0"),
                ("Vary", "Accept-Encoding"), ("Vary", FEED_VARY),
                # A cache that ignored Vary must never hand this to a feed reader.
                ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]

    def _error_answer(self, path: str, method: str, accept: str, memo: Memo) -> Fixed | None:
        """Flask's own answer for a document route with no document, when it is an error."""
        matched = self._match(path)
        if matched is None:
            return None
        response = self._respond(path, {"Accept": accept} if accept else {}, method)
        if response.status_code != NotFound.code:
            return None  # an alias's redirect: Flask answers it each time
        if self._web().cache.index is not memo.index:
            return None
        environ = {"REQUEST_METHOD": method, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
                   "wsgi.url_scheme": "http"}
        headers = response.get_wsgi_headers(environ).to_wsgi_list()
        body = b"" if method == "HEAD" else response.get_data()
        return Fixed(matched[0], _status_line(response), headers, body)


FEED_VARY = "Accept, Sec-Fetch-Dest, Upgrade-Insecure-Requests"  # what the 303 depends on


def _vary_accept(headers: Headers) -> None:
    """Add the feed's Vary field line right after the existing one (or at the end)."""
    for position, (name, _) in enumerate(headers):
        if name.lower() == "vary":
            headers.insert(position + 1, ("Vary", FEED_VARY))
            return
    headers.append(("Vary", FEED_VARY))


def install(app: Flask) -> FastPath:
    """Put the fast path in front of `app` (werkzeug's middleware pattern: `app.wsgi_app`)."""
    fast = FastPath(app, app.wsgi_app)
    app.wsgi_app = fast  # type: ignore[method-assign]
    return fast


__all__ = ["FastPath", "install", "unknown_hooks"]
