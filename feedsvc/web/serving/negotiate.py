"""Does a request for a feed come from a browser that would rather read a page?

Browsers open feed URLs people paste or click, and Chromium shows
`application/rss+xml` as raw text. Whether a client is a browser is read from
its `Accept` header alone, the one thing every client states about what it
can use: browsers put `text/html` first; feed readers name the feed types
(feedparser, NetNewsWire, Miniflux) or send `*/*` or nothing (newsboat,
curl, most libraries). A request is sent to the HTML page only when it
*prefers* HTML, so anything that accepts the feed at least as well as HTML
keeps getting the feed.

Preferring HTML is not enough on its own: some readers send a browser's
`Accept` to get past bot filters, and scripts ask for `text/html` out of
habit. So the redirect also needs the request to be a browser's top-level
navigation: `Sec-Fetch-Dest: document` (Fetch Metadata, sent by Chromium,
Firefox and Safari on every navigation and never by server-side fetchers), or,
from browsers too old for it, `Upgrade-Insecure-Requests: 1`.

Qualities follow RFC 9110 §12.5.1: the most specific matching range decides
(`text/html;q=0` beats `*/*`), a malformed range is ignored, parameters other
than `q` are not compared.
"""

from __future__ import annotations

from collections.abc import Iterable

HTML_TYPES = ("text/html", "application/xhtml+xml")
# The generic XML and JSON types readers also name for feeds of each kind.
GENERIC_TYPES = {
    "application/rss+xml": ("application/xml", "text/xml"),
    "application/atom+xml": ("application/xml", "text/xml"),
    "application/feed+json": ("application/json",),
}
MAX_RANGES = 64  # a longer Accept is not a browser's: judged on its first ranges


def parse_accept(value: str) -> list[tuple[str, str, float]]:
    """(type, subtype, quality) per well-formed media range, lower-cased, in order."""
    ranges: list[tuple[str, str, float]] = []
    for item in value.split(",")[:MAX_RANGES]:
        media, *params = item.split(";")
        kind, slash, sub = media.strip().lower().partition("/")
        if not slash or not kind or not sub or (kind == "*" and sub != "*"):
            continue
        quality = 1.0
        for param in params:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(raw.strip())
                except ValueError:
                    quality = -1.0
        if 0.0 <= quality <= 1.0:
            ranges.append((kind, sub, quality))
    return ranges


def quality(ranges: Iterable[tuple[str, str, float]], media_type: str) -> float:
    """The quality the client gives `media_type`: from its most specific matching range."""
    kind, _, sub = media_type.partition("/")
    best_specificity, best = -1, 0.0
    for range_kind, range_sub, q in ranges:
        if range_kind == kind and range_sub == sub:
            specificity = 2
        elif range_kind == kind and range_sub == "*":
            specificity = 1
        elif range_kind == "*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best = specificity, q
    return best


def prefers_html(accept: str | None, feed_type: str) -> bool:
    """True when the client ranks an HTML page above the feed of `feed_type`."""
    if not accept:
        return False
    ranges = parse_accept(accept)
    html = max(quality(ranges, t) for t in HTML_TYPES)
    if html <= 0.0:
        return False
    feed = max(quality(ranges, t) for t in (feed_type, *GENERIC_TYPES.get(feed_type, ())))
    return html > feed


def is_navigation(sec_fetch_dest: str | None, upgrade_insecure_requests: str | None) -> bool:
    """Whether a request is a browser loading a page in a tab or window."""
    if sec_fetch_dest is not None:
        return sec_fetch_dest.strip().lower() == "document"
    return (upgrade_insecure_requests or "").strip() == "1"
