"""Status and headers for a published document: one pure function decides them all.

Feed readers poll the same few URLs all day, mostly to hear `304 Not
Modified`, and the answer depends on nothing but the document (its ETags,
Last-Modified, media type, whether it is a full archive page), the settings
(Cache-Control, the WebSub hub) and a few request headers: `Accept-Encoding`,
the validators, and for feeds `Accept` and the Fetch Metadata that tell a
browser's navigation apart. So those rules live here once, as `answer()`,
and both the Flask views (`published.serve`) and the WSGI table in front of
Flask (`table.AnswerTable`) call it: they cannot disagree, because there is
nothing to disagree about.

The function never touches bodies: `Answer.body` says which representation to
send (identity or gzip) or that there is none (304, 303), and the caller adds
`Content-Length` from the bytes it sends. Headers are exactly what goes on the
wire, in the order they go: a 304 carries no entity headers (RFC 9110
§15.4.5: no Content-Type, Content-Length, Content-Encoding or Last-Modified),
as werkzeug would strip them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from feedsvc.web.document_cache import ServedDocument
from feedsvc.web.http import not_modified
from feedsvc.web.serving.negotiate import is_navigation, prefers_html

Headers = list[tuple[str, str]]

# Full archive pages never change (RFC 5005): cache them for a month. A correction
# to an archived entry (rare) reaches caches when that month is over.
IMMUTABLE = "public, max-age=2592000, immutable"
# What the 303 depends on, as a second Vary field line (RFC 9110 §5.3: the same as one
# combined list), so caches keep a feed and the browser's redirect apart.
FEED_VARY = "Accept, Sec-Fetch-Dest, Upgrade-Insecure-Requests"


class Body(Enum):
    """Which bytes follow the headers."""

    NONE = "none"
    IDENTITY = "identity"
    GZIP = "gzip"


@dataclass(frozen=True, slots=True)
class Target:
    """Everything about one document URL that does not depend on the request.

    `links` are the `Link` field values (the feed's own URL, its hub); `feed_type`
    is set for feeds (a browser that prefers HTML is sent to `see_other`, the
    topic's page, when it has one)."""

    doc: ServedDocument
    cache_control: str
    links: tuple[str, ...] = ()
    feed_type: str | None = None
    see_other: str | None = None


@dataclass(frozen=True, slots=True)
class Asked:
    """The parts of a GET or HEAD request an answer depends on (raw header values)."""

    gzip: bool = False
    if_none_match: str | None = None
    if_modified_since: str | None = None
    accept: str | None = None
    sec_fetch_dest: str | None = None
    upgrade_insecure_requests: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    headers: Headers
    body: Body
    status_line: str = field(init=False)  # "304 Not Modified", as WSGI's start_response takes it

    def __post_init__(self) -> None:
        object.__setattr__(self, "status_line", f"{self.status} {self.reason}")


def _common(target: Target, gzip: bool) -> Headers:
    doc = target.doc
    headers = [("ETag", f'"{doc.gzip_etag if gzip else doc.etag}"'),
               ("Cache-Control", IMMUTABLE if doc.immutable else target.cache_control),
               ("Vary", "Accept-Encoding")]
    if target.feed_type is not None:
        headers.append(("Vary", FEED_VARY))
    headers.append(("X-Content-Type-Options", "nosniff"))
    headers.extend(("Link", link) for link in target.links)
    return headers


def ok_headers(target: Target, gzip: bool) -> Headers:
    """The 200's headers for one representation (Content-Length is the sender's)."""
    headers = _common(target, gzip)
    headers.insert(1, ("Last-Modified", target.doc.last_modified_http))
    if gzip:
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Type", target.doc.content_type))
    return headers


def not_modified_headers(target: Target, gzip: bool) -> Headers:
    return _common(target, gzip)


def see_other_headers(location: str) -> Headers:
    return [("Location", location), ("Content-Length", "0"),
            ("Vary", "Accept-Encoding"), ("Vary", FEED_VARY),
            # A cache that ignored Vary must never hand this to a feed reader.
            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]


def wants_page(target: Target, asked: Asked,
               prefers: Callable[[str, str], bool] = prefers_html) -> bool:
    """A browser's navigation to a feed it would rather read as the topic's page.

    `prefers` is `negotiate.prefers_html`, or the same memoised (clients send few
    distinct `Accept` values, and parsing one costs more than the rest of a 304)."""
    return (target.feed_type is not None and target.see_other is not None
            and bool(asked.accept)
            and is_navigation(asked.sec_fetch_dest, asked.upgrade_insecure_requests)
            and prefers(asked.accept or "", target.feed_type))


def is_fresh(target: Target, asked: Asked, now: datetime) -> bool:
    """Whether the client's cached copy (either representation) is still current."""
    doc = target.doc
    return not_modified(asked.if_none_match, asked.if_modified_since,
                        (doc.etag, doc.gzip_etag), doc.last_modified, now)


def answer(target: Target, asked: Asked, now: datetime,
           prefers: Callable[[str, str], bool] = prefers_html) -> Answer:
    """The answer to a GET (or HEAD: the same, without the body) for a published document."""
    if target.see_other is not None and wants_page(target, asked, prefers):
        return Answer(303, "See Other", see_other_headers(target.see_other), Body.NONE)
    if (asked.if_none_match is not None or asked.if_modified_since) and is_fresh(target, asked, now):
        return Answer(304, "Not Modified", not_modified_headers(target, asked.gzip), Body.NONE)
    return Answer(200, "OK", ok_headers(target, asked.gzip), Body.GZIP if asked.gzip else Body.IDENTITY)
