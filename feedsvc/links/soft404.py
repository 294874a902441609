"""Soft 404s: a dead story that a site answers as if it were a page.

Large news sites retire articles in two ways that an HTTP status alone calls
healthy: the story's URL redirects to the home page (or a generic "not found"
or search page), or it answers 200 with the site's own "not found" page. Both
are recognised here, by pure functions over what the checker saw, and only by
comparing with something the site itself said, never by words on the page (an
article whose title contains "not found" is an article):

* a *deep* URL (a path that is not itself the home page or a generic page)
  whose redirects end on the site's root, its home page or a generic path
  (`/404`, `/not-found`, `/error`, `/search...`), unless the final URL carries
  the original path back (a cookie or consent wall that returns the reader to
  the story), or end where a URL that cannot exist ends too;
* a 200 page identical to the host's answer for a URL that cannot exist (one
  probe per host per run): the same hash of the first 64 KB, or the same
  non-empty `<title>` and the same length. A page that differs in either is a
  page of its own (a real article, a paywall, a cookie wall that names the
  page).

Being wrong in one direction costs a reader a dead end marked healthy; in the
other it replaces a working link with an archive copy. So every rule errs
towards "a real page".
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

BODY_LIMIT = 64 * 1024  # what is read of a page to fingerprint it
# Paths (lower case, without a trailing slash or extension) that stand for "no story here".
GENERIC_PATHS = frozenset({
    "", "index", "home", "default", "main", "start", "404", "410", "not-found", "notfound",
    "page-not-found", "pagenotfound", "not_found", "error", "errors", "error/404", "errors/404",
    "404-error", "error-404", "missing", "gone", "search", "archive", "archives", "news",
})
GENERIC_PREFIXES = ("search", "404", "error")  # /search?q=..., /search/results, /404/...
# /en, /en-gb: a language's home page. Named codes only: /ok or /ai is a page of its own.
_LANGUAGE_HOME = re.compile(
    r"(?:ar|cs|da|de|el|en|es|fi|fr|he|hi|hu|id|it|ja|ko|nl|no|pl|pt|ro|ru|sv|tr|uk|zh)"
    r"(?:[-_][a-z]{2})?")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_EXTENSION = re.compile(r"\.(?:html?|php|aspx?|jsp|shtml)$")


@dataclass(frozen=True, slots=True)
class Page:
    """What a URL finally answered: cheap, robust things to compare two answers on."""

    final_url: str
    status: int
    title: str | None = None
    length: int | None = None
    digest: str | None = None

    @property
    def found(self) -> bool:
        return 200 <= self.status < 300


def fingerprint(final_url: str, status: int, body: bytes, content_length: int | None) -> Page:
    """A page from the first `BODY_LIMIT` bytes of its body (and the length the site declared)."""
    head = body[:BODY_LIMIT]
    match = _TITLE.search(head)
    title = None
    if match:
        text = html.unescape(match.group(1).decode("utf-8", "replace"))
        title = " ".join(text.split())[:300] or None
    length = content_length if content_length is not None else len(head)
    return Page(final_url, status, title, length, hashlib.blake2b(head, digest_size=16).hexdigest())


def _normal_path(path: str) -> str:
    path = unquote(path).lower().strip("/")
    return _EXTENSION.sub("", path)


def is_generic_path(path: str) -> bool:
    """A path that stands for the site as a whole or for "nothing here", not for a story."""
    normal = _normal_path(path)
    if normal in GENERIC_PATHS or _LANGUAGE_HOME.fullmatch(normal):
        return True
    first = normal.split("/", 1)[0]
    return first in GENERIC_PREFIXES


def is_deep(url: str) -> bool:
    """A URL that names one page of a site (a story), not the site or a generic page."""
    return not is_generic_path(urlsplit(url).path)


def _carries(final: str, original: str) -> bool:
    """Whether the final URL hands the original back (`?continue=<url>`, `?return=/path`):
    an interstitial (consent, login, paywall) that returns the reader to the story."""
    parts = urlsplit(final)
    carried = unquote(unquote(parts.query + "#" + parts.fragment))
    path = urlsplit(original).path
    return bool(path.strip("/")) and path in carried


def redirect_verdict(original: str, final: str, probe_final: str | None) -> str | None:
    """Why a redirect from `original` to `final` is a soft 404, or None when it is not.

    `probe_final` is where the host's URL that cannot exist ended (None when unknown)."""
    if final == original or not is_deep(original) or _carries(final, original):
        return None
    path = urlsplit(final).path or "/"
    if not is_deep(final):
        where = "home page" if _normal_path(path) in ("", "index", "home", "default") \
            or _LANGUAGE_HOME.fullmatch(_normal_path(path)) else "generic page"
        return f"soft 404: redirected to the site's {where} ({path[:100]})"
    if probe_final is not None and final == probe_final:
        return (f"soft 404: redirected to {path[:100]}, where the site also sends a URL "
                "that cannot exist")
    return None


def page_verdict(page: Page, probe: Page | None) -> str | None:
    """Why a 2xx page is the site's "not found" page, or None when it is a page of its own.

    Compared with the host's answer for a URL that cannot exist; only when that answer
    was itself a 2xx (a site that says 404 for it says 404 for its dead stories too)."""
    if probe is None or not probe.found or not page.found:
        return None
    if page.digest is not None and page.digest == probe.digest:
        return "soft 404: the same page the site shows for a URL that cannot exist"
    if page.title and page.title == probe.title and page.length == probe.length:
        return (f"soft 404: the same title ({page.title[:80]!r}) and length the site shows "
                "for a URL that cannot exist")
    return None
