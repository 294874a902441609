"""The WSGI layer in front of Flask: published documents answered from a lookup table.

Feed readers poll the same few URLs all day, mostly to hear `304 Not
Modified`, and Flask and werkzeug spend most of such a request building
request and response objects. In the manner of WhiteNoise (`files.get(path)`,
headers worked out once per file), this layer keeps, per generation, a dict
from URL path to what answering it takes: for a document, the answers of
`answers.answer()` for each representation (200 identity and gzip, 304, the
browser's 303), computed once when the path is first asked for; for a feed,
archive or topic URL with nothing published (and no topic alias), the 404;
for anything else, None: Flask answers. The table belongs to one generation's
index object and is dropped as soon as another is served, so a 304 is never
answered for bytes that are no longer published.

Per request it decides only what `answer()` leaves to the request (gzip or
not, fresh or not, browser or reader), with the same pure functions, and
calls what must happen around every request itself: the rate limit
(`RequestLimit.check`/`settle`) and counting (`RequestOps.answered`: a
deque append, added up and published on a timer; `PollCounter.note`
for a feed poll). Nothing is inferred from Flask's
request hooks: a hook added to Flask runs for what Flask answers, and what
this layer answers is listed above.

Flask answers everything else: other methods, any query string (`?topics=` on
the OPML, `?page=` on the API; a tracking parameter on a feed costs a Flask
request, no more), unusual or over-long paths (Flask's 414 and 308s), topic
aliases' 301s, nothing published yet (503), and a body the store no longer has.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header
from werkzeug.routing import MapAdapter

from feedsvc.models import utcnow
from feedsvc.urls import document_url
from feedsvc.web.document_cache import GenerationIndex
from feedsvc.web.error_pages import error_response, published_topics, wants_html
from feedsvc.web.http import accepts_gzip
from feedsvc.web.ops import RequestOps
from feedsvc.web.ops.polls import is_subscription_feed
from feedsvc.web.ops.ratelimit import ENVIRON_CHARGE, ENVIRON_WAIT, Charge
from feedsvc.web.serving.answers import Answer, Asked, Headers, Target, answer, is_fresh, wants_page
from feedsvc.web.serving.canonical import canonical_for
from feedsvc.web.serving.negotiate import prefers_html
from feedsvc.web.serving.published import target
from feedsvc.web.serving.routes import MISSING_IS_404
from feedsvc.web.state import WebState

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Paths this layer looks at; anything else (percent-decoded oddities, control
# characters, non-ASCII stems, over-long paths) is Flask's.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]{0,300}")
MEMO_LIMIT = 4096  # entries for paths that are not documents, and memoised header values
_ENVIRON = {"REQUEST_METHOD": "GET", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
            "wsgi.url_scheme": "http"}


@dataclass(slots=True)
class Entry:
    """One document URL's answers in one generation."""

    route: str                                 # the Flask endpoint, as /metrics labels it
    target: Target
    ok: tuple[Answer, Answer]                  # 200: identity, gzip
    fresh: tuple[Answer, Answer]               # 304: identity, gzip
    tags: tuple[str, str]                      # quoted ETags: identity, gzip
    see_other: Answer | None                   # a feed's 303 for browsers
    poll: str | None                           # the document path, when fetching it is a poll
    sized: list[Headers | None] = field(default_factory=lambda: [None, None])  # + Content-Length


@dataclass(frozen=True, slots=True)
class Missing:
    """A document route with nothing published at this URL: 404."""

    route: str


@dataclass
class Table:
    index: GenerationIndex
    urls: dict[str, str]                       # URL path -> document path
    entries: dict[str, Entry | Missing | None] = field(default_factory=dict)
    not_found: dict[bool, tuple[str, Headers, bytes]] = field(default_factory=dict)


def _memo(cache: dict[tuple[str, str], bool], decide: Callable[[str, str], bool]
          ) -> Callable[[str, str], bool]:
    def memoised(value: str, other: str) -> bool:
        key = (value, other)
        known = cache.get(key)
        if known is None:
            known = decide(value, other)
            if len(cache) >= MEMO_LIMIT:
                cache.clear()
            cache[key] = known
        return known
    return memoised


def build_entry(web: WebState, route: str, path: str) -> Entry | None:
    """The answers for the document at `path`, from `answers.answer()` itself."""
    found = target(web, path)
    if found is None:
        return None
    now = utcnow()
    ok = (answer(found, Asked(gzip=False), now), answer(found, Asked(gzip=True), now))
    fresh = (answer(found, Asked(gzip=False, if_none_match="*"), now),
             answer(found, Asked(gzip=True, if_none_match="*"), now))
    see_other = None
    if found.see_other is not None:
        see_other = answer(found, Asked(accept="text/html", sec_fetch_dest="document"), now)
    doc = found.doc
    return Entry(route, found, ok, fresh, (f'"{doc.etag}"', f'"{doc.gzip_etag}"'), see_other,
                 path if is_subscription_feed(path) else None)


class AnswerTable:
    """WSGI middleware in front of the Flask app (installed as `app.wsgi_app`)."""

    def __init__(self, app: Flask, downstream: WSGIApplication, ops: RequestOps) -> None:
        self.app = app
        self.downstream = downstream
        self.ops = ops
        self.web: WebState = app.extensions["feedsvc"]
        self._table: Table | None = None
        self._adapter: MapAdapter | None = None
        self._gzip: dict[str, bool] = {}
        self._prefers = _memo({}, prefers_html)
        self._wants_html = _memo({}, lambda accept, path: wants_html(accept or None, path))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if (method != "GET" and method != "HEAD") or environ.get("QUERY_STRING"):
            return self.downstream(environ, start_response)
        table = self._current()
        if table is None:
            return self.downstream(environ, start_response)
        path: str = environ.get("PATH_INFO", "")  # empty: Flask answers 308 to "/"
        try:
            found = table.entries[path]
        except KeyError:
            found = self._classify(table, path)
        if found is None:
            return self.downstream(environ, start_response)
        started = time.perf_counter()
        charge = None
        limit = self.ops.limit
        if limit is not None:
            charge, wait = limit.check(environ)
            if wait:  # Flask answers the 429, without asking the limiter again
                environ[ENVIRON_WAIT] = wait
                return self.downstream(environ, start_response)
            environ[ENVIRON_CHARGE] = charge
        if isinstance(found, Entry):
            return self._document(found, environ, start_response, started, charge)
        return self._missing(table, found, environ, start_response, started, charge)

    # --- answering ----------------------------------------------------------

    def _document(self, entry: Entry, environ: WSGIEnvironment, start_response: StartResponse,
                  started: float, charge: Charge | None) -> Iterable[bytes]:
        gzip = self._accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        decided = None
        if entry.see_other is not None:
            dest = environ.get("HTTP_SEC_FETCH_DEST")
            upgrade = environ.get("HTTP_UPGRADE_INSECURE_REQUESTS")
            # Readers send neither navigation header: no need to look further for them.
            if (dest is not None or upgrade is not None) and wants_page(entry.target, Asked(
                    accept=environ.get("HTTP_ACCEPT"), sec_fetch_dest=dest,
                    upgrade_insecure_requests=upgrade), self._prefers):
                decided = entry.see_other
        if decided is None:
            if_none_match = environ.get("HTTP_IF_NONE_MATCH")
            if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
            if (if_none_match is not None and if_none_match in entry.tags) or (
                    (if_none_match is not None or if_modified_since) and is_fresh(
                        entry.target, Asked(if_none_match=if_none_match,
                                                  if_modified_since=if_modified_since), utcnow())):
                decided = entry.fresh[gzip]
        if decided is not None:
            self._done(environ, entry.route, decided.status, started, charge, entry.poll)
            start_response(decided.status_line, list(decided.headers))
            return []
        body = self.web.cache.body(entry.target.doc, gzipped=gzip)
        if body is None:  # pruned under an index we still hold: Flask answers from a fresh one
            self.web.cache.refresh(force=True)
            return self.downstream(environ, start_response)
        headers = entry.sized[gzip]
        if headers is None:  # bodies are content-addressed: one length per entry and encoding
            headers = entry.sized[gzip] = [*entry.ok[gzip].headers, ("Content-Length", str(len(body)))]
        self._done(environ, entry.route, 200, started, charge, entry.poll)
        start_response("200 OK", list(headers))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _missing(self, table: Table, missing: Missing, environ: WSGIEnvironment,
                 start_response: StartResponse, started: float,
                 charge: Charge | None) -> Iterable[bytes]:
        html = self._wants_html(environ.get("HTTP_ACCEPT") or "", environ.get("PATH_INFO", ""))
        built = table.not_found.get(html)
        if built is None:
            built = table.not_found[html] = self._not_found(table.index, html)
        status, headers, body = built
        self._done(environ, missing.route, 404, started, charge, None)
        start_response(status, list(headers))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _done(self, environ: WSGIEnvironment, route: str, status: int, started: float,
              charge: Charge | None, poll: str | None) -> None:
        self.ops.answered(environ, route, status, started, poll)
        if charge is not None and self.ops.limit is not None:
            self.ops.limit.settle(charge, status)

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

    # --- the table of one generation ----------------------------------------

    def _current(self) -> Table | None:
        index = self.web.cache.refresh()
        if index.generation is None:
            return None  # Flask's 503 until something is published
        table = self._table
        if table is None or table.index is not index:
            table = self._table = Table(index, {document_url(p): p for p in index.documents})
        return table

    def _classify(self, table: Table, path: str) -> Entry | Missing | None:
        found = None
        if _PLAIN_PATH.fullmatch(path) and "//" not in path:
            found = self._entry_for(table, path)
        if self.web.cache.index is not table.index:
            return None  # a new generation arrived meanwhile: Flask answers this one
        if isinstance(found, Entry) or len(table.entries) < MEMO_LIMIT:
            table.entries[path] = found
        return found

    def _entry_for(self, table: Table, path: str) -> Entry | Missing | None:
        if self._adapter is None:
            self._adapter = self.app.url_map.bind("localhost")
        try:
            route, args = self._adapter.match(path, method="GET")
        except HTTPException:  # redirects, 404s and 405s are Flask's to answer
            return None
        doc_path = table.urls.get(path)
        if doc_path is not None:
            return build_entry(self.web, str(route), doc_path)
        if route not in MISSING_IS_404:
            return None
        slug = str(args["slug"])
        alias = canonical_for(self.web, slug)
        return None if alias is not None and alias != slug else Missing(str(route))

    def _not_found(self, index: GenerationIndex, html: bool) -> tuple[str, Headers, bytes]:
        """Flask's error handler's 404 (the same function makes it), once per generation."""
        response = error_response(404, "Not Found", "", published_topics(index.documents),
                                  html=html, options=self.web.options, json=self.app.json)
        return (response.status, response.get_wsgi_headers(_ENVIRON).to_wsgi_list(),
                response.get_data())


def install(app: Flask, ops: RequestOps) -> AnswerTable:
    """Put the table in front of `app` (werkzeug's middleware pattern: `app.wsgi_app`)."""
    table = AnswerTable(app, app.wsgi_app, ops)
    app.wsgi_app = table  # type: ignore[method-assign]
    return table
