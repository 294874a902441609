"""Text clean-up shared by both article formats: XML-safe characters, safe HTML."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from feedsvc.content.problems import ContentError
from feedsvc.urls import site_publishes

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Characters XML 1.0 does not allow at all (C0 controls but tab, CR, LF; the
# two non-characters U+FFFE and U+FFFF). A single one makes a feed unparseable.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_limits = threading.local()


class MarkdownTooCostly(ContentError):
    """Rendering this body would cost more than one file may (size or time)."""


@contextmanager
def markdown_limits(max_chars: int, budget_s: float) -> Iterator[None]:
    """Bound the Markdown work of every body rendered in this thread, inside the block.

    markdown-it is pure Python and some inputs (a long run of `[` or `![`) cost
    about 15 microseconds a character: a 1 MB body took 18 s. The size limit
    is deterministic; the time budget is a backstop for shapes nobody has
    measured yet, checked between parser rules, so it stops a body within a
    few milliseconds of the budget.
    """
    saved = getattr(_limits, "value", None)
    _limits.value = (max_chars, budget_s)
    try:
        yield
    finally:
        _limits.value = saved


def _check_deadline(*_args: object) -> bool:
    deadline = getattr(_limits, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        _limits.deadline = None
        raise MarkdownTooCostly(f"the Markdown body took over {_limits.value[1]:g} s to render "
                                "(FEEDSVC_MARKDOWN_BUDGET); simplify or shorten it")
    return False


@functools.cache
def _markdown() -> MarkdownIt:
    """The Markdown renderer, made on first use: commands that render no body (a
    build that finds nothing changed) do not pay for importing markdown-it."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    # Consulted before every block rule (once a line) and every inline rule (once a token).
    markdown.block.ruler.before("table", "feedsvc_deadline", _check_deadline,
                                {"alt": ["paragraph", "reference", "blockquote", "list"]})
    markdown.inline.ruler.before("text", "feedsvc_deadline", _check_deadline)
    return markdown


@functools.cache
def _allowed() -> tuple[set[str], dict[str, set[str]]]:
    """The tags and attributes a body may keep: nh3's defaults, widened for images,
    links and paragraph classes."""
    import nh3

    return set(nh3.ALLOWED_TAGS), {
        **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
        "img": {"src", "srcset", "alt", "title", "width", "height"},
        "a": {"href", "title", "hreflang"},
        "p": {"class"},
    }


def _render_within_limits(markdown: str) -> str:
    limits = getattr(_limits, "value", None)
    html: str
    if limits is None:
        html = _markdown().render(markdown)
        return html
    max_chars, budget_s = limits
    if len(markdown) > max_chars:
        raise MarkdownTooCostly(f"the Markdown body is {len(markdown):,} characters, over the "
                                f"limit of {max_chars:,} (FEEDSVC_MAX_BODY_SIZE)")
    _limits.deadline = time.monotonic() + budget_s
    try:
        html = _markdown().render(markdown)
    finally:
        _limits.deadline = None
    return html


_SPACE = re.compile(r"\s+")


def strip_forbidden(text: str) -> tuple[str, int]:
    """Remove XML-forbidden characters; return the text and how many were removed."""
    cleaned, count = XML_FORBIDDEN.subn("", text)
    return cleaned, count


def first_forbidden_line(text: str) -> int | None:
    match = XML_FORBIDDEN.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def one_line(text: str) -> str:
    """Collapse runs of white space; titles and summaries are single paragraphs.

    Forbidden characters are removed here too: YAML escapes such as "\\u0007"
    create them after the raw file text was cleaned.

    Most values are already one printable line with single spaces: `isprintable`
    rules out every forbidden character and every white space but the space (all
    are control or separator characters), so such a value needs only the strip,
    and skips two regex passes (eight values a file, 5% of parsing).
    """
    if text.isprintable() and "  " not in text:
        return text.strip()
    return _SPACE.sub(" ", XML_FORBIDDEN.sub("", text)).strip()


@dataclass(frozen=True, slots=True)
class SafeBody:
    """A body as published, and its relative URLs that resolved to a path under the
    site's base URL that the site does not publish: (as written, as resolved)."""

    html: str
    unpublished: tuple[tuple[str, str], ...] = ()


def markdown_to_safe_html(markdown: str, base_url: str, page_url: str) -> SafeBody:
    """Render Markdown (with inline HTML) and sanitise it for feeds and pages.

    Relative URLs (`href`, `src`, every candidate of `srcset`) are made absolute:
    a feed reader has no base to resolve them against. A site-relative one
    (`/about`) is resolved against the site's base URL, any other (`images/a.png`,
    `../topics/x`) against `page_url`, the article's own page, as a browser reading
    that page would.
    """
    if not markdown.strip():
        return SafeBody("")
    html = _render_within_limits(XML_FORBIDDEN.sub("", markdown))
    resolved: list[tuple[str, str]] = []

    def absolute(url: str) -> str:
        full = resolve_relative(url, base_url, page_url)
        resolved.append((url, full))
        return full

    def srcset(_tag: str, attribute: str, value: str) -> str | None:
        return _absolute_srcset(value, absolute) if attribute == "srcset" else value

    import nh3

    tags, attributes = _allowed()
    safe = nh3.clean(html, tags=tags, attributes=attributes,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer",
                     url_relative=absolute, attribute_filter=srcset if "srcset" in html else None)
    return SafeBody(safe.strip(), tuple(
        (written, full) for written, full in resolved
        if full.startswith(base_url + "/") and not site_publishes(_site_path(full, base_url))))


def resolve_relative(url: str, base_url: str, page_url: str) -> str:
    """An absolute URL for a relative one found in an article's body."""
    if url.startswith("//"):
        return f"https:{url}"
    if url.startswith("/"):
        return f"{base_url}{url}"
    return urljoin(page_url, url)


def _absolute_srcset(value: str, absolute: Callable[[str], str]) -> str | None:
    """Each candidate's URL made absolute; candidates of another scheme than http(s)
    are dropped (the sanitiser does not read srcset as URLs)."""
    candidates = []
    for candidate in value.split(","):
        url, _, descriptor = candidate.strip().partition(" ")
        if not url:
            continue
        scheme = urlsplit(url).scheme.lower()
        if scheme and scheme not in ("http", "https"):
            continue
        full = url if scheme else absolute(url)
        candidates.append(f"{full} {descriptor.strip()}".strip())
    return ", ".join(candidates) or None


def _site_path(url: str, base_url: str) -> str:
    return urlsplit(url[len(base_url):]).path.lstrip("/")
