"""HTTP caching rules for published documents, as small pure functions.

Feed readers and polling services live on conditional requests, so these
rules are exact (RFC 9110): If-None-Match wins over If-Modified-Since, entity
tags compare weakly for If-None-Match, dates compare to the second, and a
malformed or future date is ignored rather than trusted.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from werkzeug.datastructures import Accept
from werkzeug.http import parse_date, parse_etags
from werkzeug.wrappers import Response

_R = TypeVar("_R", bound=Response)


def not_modified(if_none_match: str | None, if_modified_since: str | None,
                 etags: tuple[str, ...], last_modified: datetime, now: datetime) -> bool:
    """Whether a GET/HEAD may be answered with 304 Not Modified.

    `etags` are the unquoted entity tags of every representation of the
    document (identity and gzip): a client that cached either may revalidate.
    """
    if if_none_match is not None:
        parsed = parse_etags(if_none_match)
        if parsed.star_tag:
            return True
        return any(parsed.contains_weak(tag) for tag in etags)
    if if_modified_since:
        since = parse_date(if_modified_since)
        if since is None or since > now:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False


def accepts_gzip(accept_encodings: Accept) -> bool:
    """True when the client accepts gzip with a non-zero quality (explicitly or by `*`)."""
    return accept_encodings["gzip"] > 0


def uncacheable(response: _R, directive: str = "no-store") -> _R:
    """Operational answers (status, errors, live link data) that caches must not keep."""
    response.headers["Cache-Control"] = directive
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

